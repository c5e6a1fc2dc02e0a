//! Order-preserving key encoding for the sled trees.
//!
//! A key is a short ASCII prefix naming the record kind followed by components:
//! - a string component is its UTF-8 bytes with every `0x00` written as `0x00 0xFF`,
//!   closed by `0x00 0x01`. The encoding is prefix-free (no encoded string is a prefix of
//!   another) and sorts like the strings themselves, so `t/{a}` never matches `t/{a/b}`
//!   and scans return components in string order;
//! - an integer component is its big-endian bytes with the sign bit flipped, so negative
//!   numbers sort before zero and zero before positive numbers.

use baton_core::TimerKind;

/// Workflow record: `w/ str(wid)`.
pub const WORKFLOW: &[u8] = b"w/";
/// Task record: `t/ str(wid) i32(seq)`.
pub const TASK: &[u8] = b"t/";
/// Task id index: `ti/ str(task_id)` -> `str(wid) i32(seq)`.
pub const TASK_ID: &[u8] = b"ti/";
/// Definition snapshot: `s/ str(wid)`.
pub const SNAPSHOT: &[u8] = b"s/";
/// Definition by content: `d/ hash` (32 raw bytes) -> definition JSON.
pub const DEFINITION: &[u8] = b"d/";
/// Status index: `xs/ str(STATUS) str(wid)` -> empty.
pub const BY_STATUS: &[u8] = b"xs/";
/// Correlation index: `xc/ str(name) str(correlation) i64(create_time) str(wid)` -> empty.
pub const BY_CORRELATION: &[u8] = b"xc/";
/// Idempotency index: `xi/ str(name) str(key)` -> wid.
pub const BY_IDEMPOTENCY: &[u8] = b"xi/";
/// Open executions by name: `xr/ str(name) i64(create_time) str(wid)` -> i32 version
/// (big-endian), for every RUNNING or PAUSED execution.
pub const BY_NAME_OPEN: &[u8] = b"xr/";
/// Finished executions by name and end time: `xf/ str(name) i64(end_time) str(wid)` ->
/// empty, for every execution that reached a terminal status in this store (restored
/// executions are not in it): what retention walks, oldest first.
pub const FINISHED: &[u8] = b"xf/";
/// Search log: `xl/ u64(stamp)` (big-endian) -> the ids (string components, one after
/// the other) of the executions one batch changed, until the search index takes them in.
pub const SEARCH_LOG: &[u8] = b"xl/";
/// The search queue of older stores: `xq/ str(wid)` -> u64 stamp, one entry per changed
/// execution; moved into the search log on open.
pub const LEGACY_SEARCH_QUEUE: &[u8] = b"xq/";
/// Timer: `tm/ i64(due_ms) str(wid) kind` -> empty.
pub const TIMER: &[u8] = b"tm/";
/// Timers of one workflow: `tw/ str(wid) i64(due_ms) kind` -> empty.
pub const TIMER_BY_WORKFLOW: &[u8] = b"tw/";

/// Schedule record (tree `schedules`): `sr/ str(name)` -> record JSON.
pub const SCHEDULE: &[u8] = b"sr/";
/// Schedule wake index (tree `schedules`): `sw/ i64(wake_ms) str(name)` -> empty.
pub const SCHEDULE_WAKE: &[u8] = b"sw/";
/// Schedule history (tree `schedules`): `sh/ str(name) i64(slot_ms) u64(seq)` (the
/// sequence big-endian) -> entry JSON.
pub const SCHEDULE_HISTORY: &[u8] = b"sh/";
/// Schedule alerts waiting for delivery (tree `schedules`): `sa/ i64(due_ms) u64(id)` (the
/// id big-endian) -> alert JSON.
pub const SCHEDULE_ALERT: &[u8] = b"sa/";

const ESC: u8 = 0x00;
const ESC_NUL: u8 = 0xFF;
const ESC_END: u8 = 0x01;

/// A key under construction.
#[derive(Debug, Default, Clone)]
pub struct Key(Vec<u8>);

impl Key {
    /// A key starting with `prefix`.
    pub fn new(prefix: &[u8]) -> Self {
        let mut v = Vec::with_capacity(prefix.len() + 48);
        v.extend_from_slice(prefix);
        Key(v)
    }

    /// Appends a string component.
    pub fn str(mut self, s: &str) -> Self {
        push_str(&mut self.0, s);
        self
    }

    /// Appends an `i64` component.
    pub fn i64(mut self, n: i64) -> Self {
        self.0
            .extend_from_slice(&((n as u64) ^ (1 << 63)).to_be_bytes());
        self
    }

    /// Appends an `i32` component.
    pub fn i32(mut self, n: i32) -> Self {
        self.0
            .extend_from_slice(&((n as u32) ^ (1 << 31)).to_be_bytes());
        self
    }

    /// Appends raw bytes (a last component).
    pub fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }

    /// The encoded key.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        out.push(b);
        if b == ESC {
            out.push(ESC_NUL);
        }
    }
    out.push(ESC);
    out.push(ESC_END);
}

/// Reads components back from an encoded key.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Reads `bytes`, which must start with `prefix`.
    pub fn new(bytes: &'a [u8], prefix: &[u8]) -> Option<Self> {
        bytes.strip_prefix(prefix).map(Reader)
    }

    /// Reads bytes that start with a component (no record prefix).
    pub fn bare(bytes: &'a [u8]) -> Self {
        Reader(bytes)
    }

    /// Reads a string component.
    pub fn str(&mut self) -> Option<String> {
        let mut out = Vec::new();
        let mut i = 0;
        let b = self.0;
        while i < b.len() {
            if b[i] == ESC {
                match b.get(i + 1) {
                    Some(&ESC_NUL) => {
                        out.push(ESC);
                        i += 2;
                    }
                    Some(&ESC_END) => {
                        self.0 = &b[i + 2..];
                        return String::from_utf8(out).ok();
                    }
                    _ => return None,
                }
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        None
    }

    /// Reads an `i64` component.
    pub fn i64(&mut self) -> Option<i64> {
        let (head, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some((u64::from_be_bytes(*head) ^ (1 << 63)) as i64)
    }

    /// Reads an `i32` component.
    pub fn i32(&mut self) -> Option<i32> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some((u32::from_be_bytes(*head) ^ (1 << 31)) as i32)
    }

    /// What is left.
    pub fn rest(&self) -> &'a [u8] {
        self.0
    }

    /// True when nothing is left.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

const KIND_TASK_READY: u8 = 1;
const KIND_LEASE_EXPIRED: u8 = 2;
const KIND_TASK_TIMEOUT: u8 = 3;
const KIND_POLL_TIMEOUT: u8 = 4;
const KIND_WORKFLOW_TIMEOUT: u8 = 5;

/// Encodes a timer kind as a last key component. Tags follow the declaration order of
/// [`TimerKind`] and the fields are order-preserving, so keys sort like the kinds.
pub fn timer_kind(kind: &TimerKind) -> Vec<u8> {
    let (tag, key) = match kind {
        TimerKind::TaskReady { task_id } => (KIND_TASK_READY, Key::default().str(task_id)),
        TimerKind::LeaseExpired { task_id, token } => {
            (KIND_LEASE_EXPIRED, Key::default().str(task_id).str(token))
        }
        TimerKind::TaskTimeout { task_id } => (KIND_TASK_TIMEOUT, Key::default().str(task_id)),
        TimerKind::PollTimeout { task_id } => (KIND_POLL_TIMEOUT, Key::default().str(task_id)),
        TimerKind::WorkflowTimeout { run_start } => {
            (KIND_WORKFLOW_TIMEOUT, Key::default().i64(*run_start))
        }
    };
    let mut out = vec![tag];
    out.extend_from_slice(&key.into_vec());
    out
}

/// Decodes a timer kind written by [`timer_kind`]; it must take all of `bytes`.
pub fn read_timer_kind(bytes: &[u8]) -> Option<TimerKind> {
    let (&tag, rest) = bytes.split_first()?;
    let mut r = Reader::bare(rest);
    let kind = match tag {
        KIND_TASK_READY => TimerKind::TaskReady { task_id: r.str()? },
        KIND_LEASE_EXPIRED => TimerKind::LeaseExpired {
            task_id: r.str()?,
            token: r.str()?,
        },
        KIND_TASK_TIMEOUT => TimerKind::TaskTimeout { task_id: r.str()? },
        KIND_POLL_TIMEOUT => TimerKind::PollTimeout { task_id: r.str()? },
        KIND_WORKFLOW_TIMEOUT => TimerKind::WorkflowTimeout {
            run_start: r.i64()?,
        },
        _ => return None,
    };
    r.is_empty().then_some(kind)
}

/// A printable form of a raw key, for error messages: printable ASCII as is, string
/// terminators as `/`, everything else as `\xNN`.
pub fn display(key: &[u8]) -> String {
    let mut out = String::with_capacity(key.len());
    let mut i = 0;
    while i < key.len() {
        let b = key[i];
        if b == ESC && key.get(i + 1) == Some(&ESC_END) {
            out.push('/');
            i += 2;
            continue;
        }
        if b.is_ascii_graphic() || b == b' ' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
        i += 1;
    }
    out
}

/// Lower-case hexadecimal of some bytes, for messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strings_are_prefix_free() {
        let a = Key::new(TASK).str("a").into_vec();
        let ab = Key::new(TASK).str("a/b").into_vec();
        let a0 = Key::new(TASK).str("a\0").into_vec();
        assert!(!ab.starts_with(&a));
        assert!(!a0.starts_with(&a));
    }

    #[test]
    fn display_is_readable() {
        let k = Key::new(WORKFLOW).str("wf-1").into_vec();
        assert_eq!(display(&k), "w/wf-1/");
    }

    proptest! {
        #[test]
        fn strings_round_trip_and_keep_order(a in ".*", b in ".*", n in any::<i64>(), m in any::<i32>()) {
            let ka = Key::new(b"p").str(&a).i64(n).i32(m).into_vec();
            let kb = Key::new(b"p").str(&b).i64(n).i32(m).into_vec();
            prop_assert_eq!(a.cmp(&b), ka.cmp(&kb));
            let mut r = Reader::new(&ka, b"p").unwrap();
            prop_assert_eq!(r.str(), Some(a));
            prop_assert_eq!(r.i64(), Some(n));
            prop_assert_eq!(r.i32(), Some(m));
            prop_assert!(r.is_empty());
        }

        #[test]
        fn integers_keep_order(a in any::<i64>(), b in any::<i64>()) {
            let ka = Key::default().i64(a).into_vec();
            let kb = Key::default().i64(b).into_vec();
            prop_assert_eq!(a.cmp(&b), ka.cmp(&kb));
        }

        #[test]
        fn timer_kinds_round_trip_and_keep_order(
            a in timer_kind_strategy(),
            b in timer_kind_strategy(),
        ) {
            let ka = timer_kind(&a);
            let kb = timer_kind(&b);
            prop_assert_eq!(read_timer_kind(&ka), Some(a.clone()));
            prop_assert_eq!(a.cmp(&b), ka.cmp(&kb));
        }
    }

    fn timer_kind_strategy() -> impl Strategy<Value = TimerKind> {
        prop_oneof![
            "[a\\x00/]{0,4}".prop_map(|task_id| TimerKind::TaskReady { task_id }),
            ("[a\\x00/]{0,4}", "[ab]{0,3}")
                .prop_map(|(task_id, token)| TimerKind::LeaseExpired { task_id, token }),
            "[a\\x00/]{0,4}".prop_map(|task_id| TimerKind::TaskTimeout { task_id }),
            "[a\\x00/]{0,4}".prop_map(|task_id| TimerKind::PollTimeout { task_id }),
            any::<i64>().prop_map(|run_start| TimerKind::WorkflowTimeout { run_start }),
        ]
    }
}
