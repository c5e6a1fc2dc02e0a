//! Task ids that name where their task lives.
//!
//! A task id made by [`task_id`] reads `{workflow_id}.{seq}.{nonce}`: the execution, the
//! task's sequence number in it, and twelve hex digits that tell apart the tasks a restart
//! gives the same sequence number. A store finds such a task from its id alone, with no
//! index; [`task_slot`] reads the execution and sequence number back. Ids of any other form
//! (older ones, or those a test chooses) stay valid: [`task_slot`] answers None for them,
//! or a slot whose task carries another id, and the caller looks further.

/// The id of the task at sequence number `seq` of `workflow_id`; `nonce` supplies the last
/// part (its low 48 bits are used).
pub fn task_id(workflow_id: &str, seq: i32, nonce: u64) -> String {
    format!("{workflow_id}.{seq}.{:012x}", nonce & 0xFFFF_FFFF_FFFF)
}

/// The execution and sequence number a task id names, when it has the form [`task_id`]
/// makes; None otherwise. A slot is only a hint: the task there must carry the same id.
pub fn task_slot(task_id: &str) -> Option<(&str, i32)> {
    let mut parts = task_id.rsplitn(3, '.');
    let nonce = parts.next()?;
    let seq = parts.next()?;
    let workflow_id = parts.next()?;
    let hex = nonce.len() == 12 && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = !seq.is_empty() && seq.len() <= 10 && seq.bytes().all(|b| b.is_ascii_digit());
    if !hex || !digits || workflow_id.is_empty() {
        return None;
    }
    Some((workflow_id, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_id_names_its_slot() {
        let id = task_id("0193-ab", 7, 0xdead_beef_cafe_f00d);
        assert_eq!(id, "0193-ab.7.beefcafef00d");
        assert_eq!(task_slot(&id), Some(("0193-ab", 7)));
        // Dots in the workflow id are the workflow id's own.
        assert_eq!(task_slot(&task_id("a.b.c", 12, 1)), Some(("a.b.c", 12)));
    }

    #[test]
    fn other_ids_name_no_slot() {
        for id in [
            "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
            "task-1",
            "w.1.xyz",
            "w.1.0000000000001",
            ".1.000000000001",
            "w.x.000000000001",
            "w.-1.000000000001",
            "w.99999999999.000000000001",
            "",
        ] {
            assert_eq!(task_slot(id), None, "{id}");
        }
    }
}
