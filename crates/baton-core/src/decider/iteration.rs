//! Reference names of tasks inside DO_WHILE loops.
//!
//! A task inside a loop body runs once per iteration, so each instance gets the
//! definition's reference name plus one `__N` group per enclosing loop, outermost first:
//! `fetch__3` is `fetch` in the third iteration of its loop; `fetch__2__5` is `fetch` in
//! the fifth iteration of an inner loop during the second iteration of the outer one.
//! Everything the flow knows about an instance's place (which loop iteration it belongs
//! to) is read back from that suffix.

/// Splits an instance reference into the definition's reference and the iteration
/// suffix (`""` outside loops).
pub(crate) fn split(reference: &str) -> (&str, &str) {
    let mut end = reference.len();
    loop {
        let head = &reference[..end];
        let Some(pos) = head.rfind("__") else { break };
        let digits = &head[pos + 2..];
        if pos == 0 || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        end = pos;
    }
    reference.split_at(end)
}

/// The definition's reference of an instance reference.
pub(crate) fn base(reference: &str) -> &str {
    split(reference).0
}

/// The definition's reference of an instance reference, for callers outside the core
/// (`fetch__2` is `fetch`).
pub fn definition_reference(reference: &str) -> &str {
    base(reference)
}

/// Whether an instance reference is `reference` itself or, for a definition reference
/// inside a loop, one of its iterations (`reference` followed by `__N` groups).
pub fn reference_matches(instance: &str, reference: &str) -> bool {
    match instance.strip_prefix(reference) {
        Some("") => true,
        Some(rest) => {
            rest.starts_with("__")
                && rest
                    .split("__")
                    .skip(1)
                    .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        }
        None => false,
    }
}

/// The iteration suffix of an instance reference (`""` outside loops).
pub(crate) fn suffix(reference: &str) -> &str {
    split(reference).1
}

/// The suffix with its innermost group removed: the suffix of the loop instance that an
/// iteration with this suffix belongs to.
pub(crate) fn outer(suffix: &str) -> &str {
    match suffix.rfind("__") {
        Some(pos) => &suffix[..pos],
        None => "",
    }
}

/// The innermost iteration number of a suffix; 0 outside loops.
pub(crate) fn innermost(suffix: &str) -> i32 {
    suffix
        .rsplit("__")
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The suffix of iteration `n` of a loop whose own instance has `loop_suffix`.
pub(crate) fn nested(loop_suffix: &str, n: i32) -> String {
    format!("{loop_suffix}__{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_iterations_of_a_reference() {
        assert!(reference_matches("fetch", "fetch"));
        assert!(reference_matches("fetch__2", "fetch"));
        assert!(reference_matches("fetch__2__5", "fetch"));
        assert!(reference_matches("fetch__2__5", "fetch__2"));
        assert!(!reference_matches("fetcher", "fetch"));
        assert!(!reference_matches("fetch__x", "fetch"));
        assert!(!reference_matches("fetch__", "fetch"));
        assert_eq!(definition_reference("fetch__2__5"), "fetch");
    }

    #[test]
    fn splits_suffixes() {
        assert_eq!(split("fetch"), ("fetch", ""));
        assert_eq!(split("fetch__3"), ("fetch", "__3"));
        assert_eq!(split("fetch__2__15"), ("fetch", "__2__15"));
        assert_eq!(split("a__b__2"), ("a__b", "__2"));
        assert_eq!(split("a__"), ("a__", ""));
        assert_eq!(split("__3"), ("__3", ""));
        assert_eq!(outer("__2__15"), "__2");
        assert_eq!(outer("__2"), "");
        assert_eq!(innermost("__2__15"), 15);
        assert_eq!(innermost(""), 0);
        assert_eq!(nested("__2", 4), "__2__4");
    }
}
