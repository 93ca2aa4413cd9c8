//! The channel framing of `v4.channel.k8s.io` and `v5.channel.k8s.io`: every binary message
//! is one byte naming the channel, then the payload. v5 adds the CLOSE signal: `[255, n]`
//! says the client finished writing channel `n`.

/// The subprotocols served, in the order of preference.
pub const V5: &str = "v5.channel.k8s.io";
pub const V4: &str = "v4.channel.k8s.io";

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;
/// v5 only.
pub const CLOSE: u8 = 255;

/// A message `payload` on `channel`.
pub fn frame(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(payload.len() + 1);
    message.push(channel);
    message.extend_from_slice(payload);
    message
}

/// What a client's binary message says.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound<'a> {
    Stdin(&'a [u8]),
    Resize(&'a [u8]),
    /// The client will write no more on this channel (v5).
    Close(u8),
    /// Empty, or on a channel a client does not write: ignored, as upstream ignores it.
    Ignored,
}

/// Reads a client's binary message; `v5` says whether CLOSE signals are understood.
pub fn inbound(message: &[u8], v5: bool) -> Inbound<'_> {
    match message {
        [STDIN, payload @ ..] => Inbound::Stdin(payload),
        [RESIZE, payload @ ..] => Inbound::Resize(payload),
        [CLOSE, channel] if v5 => Inbound::Close(*channel),
        _ => Inbound::Ignored,
    }
}

/// The sizes in a resize channel's payload: a stream of client-go `TerminalSize` JSON objects
/// (`{"Width":120,"Height":40}`, one per `json.Encoder` write).
pub fn terminal_sizes(payload: &[u8]) -> Vec<crate::container_io::TerminalSize> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Size {
        width: u16,
        height: u16,
    }
    serde_json::Deserializer::from_slice(payload)
        .into_iter::<Size>()
        .map_while(Result::ok)
        .map(|s| crate::container_io::TerminalSize {
            width: s.width,
            height: s.height,
        })
        .collect()
}

/// The subprotocol to answer with: the first the client offers that is served (the header may
/// be repeated and hold comma-separated lists).
pub fn negotiate<'a>(
    offered: impl Iterator<Item = &'a str>,
    served: &[&'static str],
) -> Option<&'static str> {
    offered
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find_map(|p| served.iter().find(|s| **s == p).copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container_io::TerminalSize;

    #[test]
    fn frames_carry_the_channel_first() {
        assert_eq!(frame(STDOUT, b"hi"), vec![1, b'h', b'i']);
        assert_eq!(frame(ERROR, b""), vec![3]);
    }

    #[test]
    fn close_signals_are_v5_only() {
        assert_eq!(inbound(&[0, b'x'], true), Inbound::Stdin(b"x"));
        assert_eq!(inbound(&[255, 0], true), Inbound::Close(0));
        assert_eq!(inbound(&[255, 0], false), Inbound::Ignored);
        assert_eq!(inbound(&[255, 0, 1], true), Inbound::Ignored);
        assert_eq!(inbound(&[], true), Inbound::Ignored);
        assert_eq!(inbound(&[1, b'x'], true), Inbound::Ignored);
        assert_eq!(inbound(&[4, b'{'], true), Inbound::Resize(b"{"));
    }

    #[test]
    fn resize_payloads_are_json_streams() {
        let sizes =
            terminal_sizes(b"{\"Width\":120,\"Height\":40}\n{\"Width\":80,\"Height\":24}\n");
        assert_eq!(
            sizes,
            vec![
                TerminalSize {
                    width: 120,
                    height: 40
                },
                TerminalSize {
                    width: 80,
                    height: 24
                }
            ]
        );
        assert!(terminal_sizes(b"nonsense").is_empty());
    }

    #[test]
    fn the_first_offered_served_protocol_wins() {
        let served = &[V5, V4];
        assert_eq!(
            negotiate(["v5.channel.k8s.io"].into_iter(), served),
            Some(V5)
        );
        assert_eq!(
            negotiate(["v4.channel.k8s.io, v5.channel.k8s.io"].into_iter(), served),
            Some(V4)
        );
        assert_eq!(
            negotiate(["x", "v5.channel.k8s.io"].into_iter(), served),
            Some(V5)
        );
        assert_eq!(negotiate(["channel.k8s.io"].into_iter(), served), None);
    }
}
