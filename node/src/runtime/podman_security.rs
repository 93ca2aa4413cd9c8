//! A container's `Security` as `podman run` options.

use super::Security;

pub fn args(s: &Security) -> Vec<String> {
    let mut args = Vec::new();
    match (s.user, s.group) {
        (Some(user), Some(group)) => args.push(format!("--user={user}:{group}")),
        (Some(user), None) => args.push(format!("--user={user}")),
        // A group alone keeps the image's user.
        (None, Some(group)) => args.push(format!("--group-add={group}")),
        (None, None) => {}
    }
    args.extend(s.groups.iter().map(|g| format!("--group-add={g}")));
    if s.privileged {
        args.push("--privileged".into());
    }
    if s.read_only_root {
        args.push("--read-only".into());
    }
    if s.no_new_privileges {
        args.push("--security-opt=no-new-privileges".into());
    }
    // Drops first: podman applies `--cap-add` after `--cap-drop=ALL`.
    args.extend(
        s.cap_drop
            .iter()
            .map(|c| format!("--cap-drop={}", c.to_lowercase())),
    );
    args.extend(
        s.cap_add
            .iter()
            .map(|c| format!("--cap-add={}", c.to_lowercase())),
    );
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_v2_defaults_as_podman_options() {
        let s = Security {
            user: Some(1000680000),
            groups: vec![1000680000],
            no_new_privileges: true,
            cap_drop: vec!["ALL".into()],
            cap_add: vec!["NET_BIND_SERVICE".into()],
            ..Default::default()
        };
        assert_eq!(
            args(&s),
            [
                "--user=1000680000",
                "--group-add=1000680000",
                "--security-opt=no-new-privileges",
                "--cap-drop=all",
                "--cap-add=net_bind_service"
            ]
        );
        assert!(args(&Security::default()).is_empty());
    }
}
