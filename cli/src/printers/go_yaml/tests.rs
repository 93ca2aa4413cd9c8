//! Expected texts are what kubectl 1.32 prints (`--dry-run=client -o yaml`) for the same
//! objects.

use super::*;
use serde_json::json;

#[test]
fn long_plain_and_quoted_strings_fold_under_their_key() {
    let job = json!({
        "kind": "Job", "apiVersion": "batch/v1",
        "metadata": {"name": "j", "creationTimestamp": null},
        "spec": {"template": {"metadata": {"creationTimestamp": null}, "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "j", "image": "busybox", "resources": {}, "command": [
                "sh", "-c",
                "echo this is a very long command line that will certainly need to be folded by the emitter at eighty columns",
                "second\targ with a tab and a long tail that will need folding as well since it is long enough",
                "'quoted arg' that is long enough to be folded by the emitter in single quotes, surely so",
            ]}],
        }}},
        "status": {},
    });
    assert_eq!(
        to_string(&job),
        r#"apiVersion: batch/v1
kind: Job
metadata:
  creationTimestamp: null
  name: j
spec:
  template:
    metadata:
      creationTimestamp: null
    spec:
      containers:
      - command:
        - sh
        - -c
        - echo this is a very long command line that will certainly need to be folded
          by the emitter at eighty columns
        - "second\targ with a tab and a long tail that will need folding as well since
          it is long enough"
        - '''quoted arg'' that is long enough to be folded by the emitter in single
          quotes, surely so'
        image: busybox
        name: j
        resources: {}
      restartPolicy: Never
status: {}
"#
    );
}

#[test]
fn strings_take_kubectls_styles() {
    let map = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "x", "creationTimestamp": null},
        "data": {
            "a": "This is a fairly long message that should be wrapped by the go yaml emitter because it is longer than eighty columns wide",
            "b": "true", "c": "it's: here", "d": "- dash", "e": " lead", "f": "trail ",
            "g": "2024-01-01", "h": "0x1F", "i": "12:30", "j": "1_000", "k": "# hash",
            "l": "a #b", "m": "tab\tx", "n": "ünï",
            "o": "'quoted' words that are long enough to make the single quoted scalar wrap across lines ok",
            "p": "multi\nline\n",
            "q": "x: y and then some more words so that the line must be wrapped at eighty columns okay yes",
            "r": "@at", "s": "1e3", "t": "yes", "u": "~", "v": ".5", "w": "0b101", "x": "{a}",
            "y": "a, b", "z": "",
            "dq": "tab\tand then a lot of words to make it long enough to fold at eighty columns  double spaces here",
            "lit": "  indented first\nsecond",
            "nonl": "a\nb",
            "sp": "two  spaces  between words here and more words until we pass the eighty column mark ok",
        },
    });
    assert_eq!(
        to_string(&map),
        r#"apiVersion: v1
data:
  a: This is a fairly long message that should be wrapped by the go yaml emitter because
    it is longer than eighty columns wide
  b: "true"
  c: 'it''s: here'
  d: '- dash'
  dq: "tab\tand then a lot of words to make it long enough to fold at eighty columns
    \ double spaces here"
  e: ' lead'
  f: 'trail '
  g: "2024-01-01"
  h: "0x1F"
  i: "12:30"
  j: "1_000"
  k: '# hash'
  l: 'a #b'
  lit: |2-
      indented first
    second
  m: "tab\tx"
  "n": ünï
  nonl: |-
    a
    b
  o: '''quoted'' words that are long enough to make the single quoted scalar wrap
    across lines ok'
  p: |
    multi
    line
  q: 'x: y and then some more words so that the line must be wrapped at eighty columns
    okay yes'
  r: '@at'
  s: "1e3"
  sp: two  spaces  between words here and more words until we pass the eighty column
    mark ok
  t: "yes"
  u: "~"
  v: ".5"
  w: "0b101"
  x: '{a}'
  "y": a, b
  z: ""
kind: ConfigMap
metadata:
  creationTimestamp: null
  name: x
"#
    );
}

#[test]
fn lists_scalars_and_empty_collections() {
    assert_eq!(to_string(&json!({})), "{}\n");
    assert_eq!(to_string(&json!([])), "[]\n");
    assert_eq!(to_string(&json!("text")), "text\n");
    assert_eq!(
        to_string(&json!([[1, 2], {"a": [true, null]}, 0.5, 1.0, 1e6, -2.5e-7, []])),
        "- - 1\n  - 2\n- a:\n  - true\n  - null\n- 0.5\n- 1\n- 1e+06\n- -2.5e-07\n- []\n"
    );
    assert_eq!(
        to_string(&json!({"keep": "a\n\n", "z": 1})),
        "keep: |+\n  a\n\nz: 1\n"
    );
}
