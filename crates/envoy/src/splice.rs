//! Encoding a message from already-encoded elements of one repeated field.
//!
//! A protobuf message is the concatenation of its encoded fields, and prost writes fields in tag
//! order. So `ingress_http` (a RouteConfiguration with every virtual host) can be written as the
//! fields before `virtual_hosts`, then each virtual host's cached bytes with its key and length,
//! then the fields after. The result is byte-identical to encoding the whole message, which the
//! tests check: a change re-encodes only the virtual hosts (or filter chains) that changed.

use std::ops::Range;

use prost::Message;
use prost::bytes::BufMut;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

/// The encoding of `shell` (whose repeated message field `tag` is empty) with `items` (each an
/// encoded element of that field) in that field's place. `head` is `shell` with only the fields
/// whose tags are below `tag` set: its encoding is the prefix of `shell`'s. Also where each
/// item's bytes are in the result (in the order of `items`), so that the caller can hold its
/// parts as slices of the whole rather than as copies.
pub fn encode_with<M: Message>(
    head: &M,
    shell: &M,
    tag: u32,
    items: &[&[u8]],
) -> (Vec<u8>, Vec<Range<usize>>) {
    let head = head.encode_to_vec();
    let shell = shell.encode_to_vec();
    debug_assert!(
        shell.starts_with(&head),
        "head must hold exactly the fields before tag {tag}"
    );
    let split = if shell.starts_with(&head) {
        head.len()
    } else {
        0
    };
    let items_len: usize = items
        .iter()
        .map(|i| key_len(tag) + encoded_len_varint(i.len() as u64) + i.len())
        .sum();
    let mut out = Vec::with_capacity(shell.len() + items_len);
    let mut ranges = Vec::with_capacity(items.len());
    out.put_slice(&shell[..split]);
    for item in items {
        encode_key(tag, WireType::LengthDelimited, &mut out);
        encode_varint(item.len() as u64, &mut out);
        ranges.push(out.len()..out.len() + item.len());
        out.put_slice(item);
    }
    out.put_slice(&shell[split..]);
    (out, ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::route::v3::{RouteConfiguration, VirtualHost};

    #[test]
    fn spliced_equals_whole_encoding() {
        let vhosts: Vec<VirtualHost> = ["a", "b", "c"]
            .iter()
            .map(|n| VirtualHost {
                name: n.to_string(),
                domains: vec![format!("{n}.example.com")],
                ..Default::default()
            })
            .collect();
        let whole = RouteConfiguration {
            name: "ingress_http".into(),
            virtual_hosts: vhosts.clone(),
            ignore_port_in_host_matching: true,
            internal_only_headers: vec!["x".into()],
            ..Default::default()
        };
        let mut shell = whole.clone();
        shell.virtual_hosts.clear();
        let head = RouteConfiguration {
            name: whole.name.clone(),
            ..Default::default()
        };
        let encoded: Vec<Vec<u8>> = vhosts.iter().map(Message::encode_to_vec).collect();
        let items: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
        let (bytes, ranges) = encode_with(&head, &shell, 2, &items);
        assert_eq!(bytes, whole.encode_to_vec());
        assert_eq!(bytes.len(), bytes.capacity(), "sized exactly");
        for (range, item) in ranges.into_iter().zip(&items) {
            assert_eq!(&bytes[range], *item);
        }
    }
}
