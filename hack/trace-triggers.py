#!/usr/bin/env python3
"""Where an image trigger's time goes, from an audit log of `hack/bench-triggers.sh` (TRACE=1).

For each follower rolled by the last mapping of its stream, the chain of requests it caused:
the mapping answered → the trigger controller's patch of the follower (received, answered) →
for a DeploymentConfig, the config controller's `latestVersion` status patch → the new
ReplicationController or ReplicaSet created (received, answered). Prints the median and p99
of each step's gap in milliseconds, so the slowest stage stands out.

    hack/trace-triggers.py AUDIT_LOG
"""

import json
import sys
from collections import defaultdict
from datetime import datetime


def at(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main(path):
    # stream → times its mappings were answered; follower → its requests in order.
    mappings = defaultdict(list)
    requests = defaultdict(list)
    follows = {}
    with open(path) as log:
        for line in log:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("stage") != "ResponseComplete":
                continue
            ref = e.get("objectRef") or {}
            resource, name = ref.get("resource"), ref.get("name", "")
            sub, verb = ref.get("subresource", ""), e.get("verb")
            code = (e.get("responseStatus") or {}).get("code", 0)
            times = (at(e["requestReceivedTimestamp"]), at(e["stageTimestamp"]))
            if resource == "imagestreammappings" and verb == "create":
                mappings[name].append(times[1])
            elif resource in ("deployments", "deploymentconfigs") and verb == "patch":
                requests[name].append(("status" if sub == "status" else "patch", times, code))
            elif resource in ("replicasets", "replicationcontrollers") and verb == "create":
                # Named <follower>-<hash> or <follower>-<version>.
                owner = name.rsplit("-", 1)[0]
                requests[owner].append(("create", times, code))
            elif resource in ("deployments", "deploymentconfigs") and verb == "create":
                follows[name] = resource
    if not mappings:
        sys.exit("no ImageStreamMappings in the audit log")
    gaps = defaultdict(list)
    for follower, steps in requests.items():
        creates = [s for s in steps if s[0] == "create" and s[2] < 300]
        if len(creates) < 2:
            continue
        made = creates[-1]
        # The mapping that caused it: the newest answered before the trigger's patch.
        patches = [s for s in steps if s[0] == "patch" and s[1][0] < made[1][0] and s[2] < 300]
        if not patches:
            continue
        patch = patches[-1]
        mapped = max(
            (t for ts in mappings.values() for t in ts if t <= patch[1][0]), default=None
        )
        if mapped is None:
            continue
        kind = "dc" if follows.get(follower) == "deploymentconfigs" else "deploy"
        gaps[f"{kind} mapping answered → trigger patch received"].append(patch[1][0] - mapped)
        gaps[f"{kind} trigger patch (request)"].append(patch[1][1] - patch[1][0])
        status = [s for s in steps if s[0] == "status" and patch[1][1] <= s[1][0] < made[1][0]]
        after = patch[1][1]
        if kind == "dc" and status:
            bump = status[0]
            gaps[f"{kind} trigger patch answered → latestVersion patch received"].append(
                bump[1][0] - after
            )
            gaps[f"{kind} latestVersion patch (request)"].append(bump[1][1] - bump[1][0])
            after = bump[1][1]
            gaps[f"{kind} latestVersion patch answered → create received"].append(
                made[1][0] - after
            )
        else:
            gaps[f"{kind} trigger patch answered → create received"].append(made[1][0] - after)
        gaps[f"{kind} create (request)"].append(made[1][1] - made[1][0])
        gaps[f"{kind} mapping answered → created"].append(made[1][1] - mapped)
    print(f"{'step':66} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}")
    for step in sorted(gaps):
        values = gaps[step]
        print(
            f"{step:66} {len(values):5} {percentile(values, 50) * 1000:8.1f} "
            f"{percentile(values, 99) * 1000:8.1f}"
        )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
