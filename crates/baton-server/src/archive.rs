//! Archives of finished executions: JSON lines, compressed with zstd.
//!
//! Each line holds one whole execution (the workflow record, every task instance and the
//! definition it ran), in the same field names as the store keeps them, so that an
//! archive loads back into any store ([`parse_line`], then the service's import) and is
//! searchable again. A file is a sequence of zstd frames, one per retention pass; each
//! frame is synced to disk before the executions in it are removed from the store, so
//! a crash can at worst archive a run twice (an import skips ids it already has), never
//! lose one.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use baton_core::{Execution, TaskInstance, WorkflowDef, WorkflowInstance};
use serde::{Deserialize, Serialize};

/// Files are closed and a new one begun beyond this many bytes.
const ROTATE_BYTES: u64 = 64 * 1024 * 1024;
/// zstd level: fast, and JSON compresses well at any level.
const LEVEL: i32 = 3;

/// Why archiving or reading an archive failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A file could not be written or read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A line is not an archived execution.
    #[error("line {line}: {message}")]
    BadLine {
        /// Line number, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// One archived execution, as a line holds it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Line<W, T, D> {
    workflow: W,
    tasks: T,
    definition: D,
}

/// The JSON line (without its newline) of an execution.
pub fn encode_line(exec: &Execution) -> Result<Vec<u8>, ArchiveError> {
    serde_json::to_vec(&Line {
        workflow: &exec.workflow,
        tasks: &exec.tasks,
        definition: exec.def.as_ref(),
    })
    .map_err(|e| ArchiveError::BadLine {
        line: 0,
        message: format!("cannot encode workflow {}: {e}", exec.workflow.workflow_id),
    })
}

/// Reads one archived execution from its line (`line_no` names it in errors). The tasks
/// must belong to the workflow and the workflow must be finished.
pub fn parse_line(text: &[u8], line_no: usize) -> Result<Execution, ArchiveError> {
    let bad = |message: String| ArchiveError::BadLine {
        line: line_no,
        message,
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    let line: Line<WorkflowInstance, Vec<TaskInstance>, WorkflowDef> =
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            bad(format!(
                "not an archived execution at {}: {}",
                e.path(),
                e.inner()
            ))
        })?;
    let wf = &line.workflow;
    if wf.workflow_id.is_empty() {
        return Err(bad("workflow.workflowId is empty".into()));
    }
    if !wf.status.is_terminal() {
        return Err(bad(format!(
            "workflow {} is {}: only finished executions are archived",
            wf.workflow_id,
            wf.status.as_str()
        )));
    }
    if let Some(t) = line
        .tasks
        .iter()
        .find(|t| t.workflow_id != wf.workflow_id || t.task_id.is_empty())
    {
        return Err(bad(format!(
            "task {:?} does not belong to workflow {}",
            t.task_id, wf.workflow_id
        )));
    }
    Ok(Execution {
        workflow: line.workflow,
        tasks: line.tasks,
        def: Arc::new(line.definition),
    })
}

/// Reads the lines of an archive file (zstd, or plain JSON lines), calling `each` with
/// every non-empty line and its number.
pub fn read_file(
    path: &Path,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let io = |e: std::io::Error| ArchiveError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let compressed = file.fill_buf().map_err(io)?.starts_with(&ZSTD_MAGIC);
    let reader: Box<dyn Read> = if compressed {
        Box::new(zstd::stream::read::Decoder::with_buffer(file).map_err(io)?)
    } else {
        Box::new(file)
    };
    let mut lines = BufReader::new(reader);
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        if lines.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            return Ok(());
        }
        n += 1;
        let line = buf.trim_ascii();
        if !line.is_empty() {
            each(n, line)?;
        }
    }
}

/// The first bytes of every zstd frame.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// Decompresses `bytes` when they are zstd; plain bytes come back as they are.
pub fn maybe_decompress(bytes: &[u8], limit: usize) -> Result<Vec<u8>, ArchiveError> {
    if !bytes.starts_with(&ZSTD_MAGIC) {
        return Ok(bytes.to_vec());
    }
    let bad = |e: std::io::Error| ArchiveError::BadLine {
        line: 0,
        message: format!("the body is not valid zstd: {e}"),
    };
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(bytes)
        .map_err(bad)?
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(bad)?;
    if out.len() > limit {
        return Err(ArchiveError::BadLine {
            line: 0,
            message: format!("the body decompresses to more than {limit} bytes"),
        });
    }
    Ok(out)
}

/// Appends executions to archive files in one directory: `baton-archive-<ms>.jsonl.zst`,
/// a new file when the current one passes 64 MiB or at the first write after a start.
pub struct ArchiveWriter {
    dir: PathBuf,
    current: Option<(PathBuf, File, u64)>,
}

impl ArchiveWriter {
    /// A writer into `dir` (created when missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, ArchiveError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| ArchiveError::Io {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Self { dir, current: None })
    }

    /// Writes the lines as one zstd frame and syncs the file: once this returns, the
    /// executions in it survive a crash. Returns the file written.
    pub fn append(&mut self, lines: &[Vec<u8>], now_ms: i64) -> Result<PathBuf, ArchiveError> {
        let mut plain = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in lines {
            plain.extend_from_slice(l);
            plain.push(b'\n');
        }
        if self
            .current
            .as_ref()
            .is_none_or(|(_, _, size)| *size >= ROTATE_BYTES)
        {
            let path = self.fresh_path(now_ms);
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .map_err(|e| io_error(&path, e))?;
            // The directory entry must be durable too, or the file may vanish in a crash.
            sync_dir(&self.dir);
            self.current = Some((path, file, 0));
        }
        let (path, file, size) = self.current.as_mut().expect("opened above");
        let frame = zstd::bulk::compress(&plain, LEVEL).map_err(|e| io_error(path, e))?;
        file.write_all(&frame).map_err(|e| io_error(path, e))?;
        file.sync_data().map_err(|e| io_error(path, e))?;
        *size += frame.len() as u64;
        Ok(path.clone())
    }

    fn fresh_path(&self, now_ms: i64) -> PathBuf {
        let mut n = 0;
        loop {
            let name = if n == 0 {
                format!("baton-archive-{now_ms}.jsonl.zst")
            } else {
                format!("baton-archive-{now_ms}-{n}.jsonl.zst")
            };
            let path = self.dir.join(name);
            if !path.exists() {
                return path;
            }
            n += 1;
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> ArchiveError {
    ArchiveError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn execution(id: &str, status: &str) -> Execution {
        let workflow = serde_json::from_value(json!({
            "workflowId": id, "workflowName": "order", "workflowVersion": 1,
            "status": status, "input": {"n": 1}, "output": {"ok": true},
            "createTime": 1, "startTime": 1, "endTime": 9, "updateTime": 9, "nextSeq": 2
        }))
        .unwrap();
        let task = serde_json::from_value(json!({
            "taskId": format!("{id}-t1"), "taskDefName": "charge", "taskType": "SIMPLE",
            "referenceTaskName": "charge", "status": "COMPLETED", "seq": 1,
            "workflowId": id, "workflowType": "order", "scheduledTime": 2, "updateTime": 8,
            "responseTimeoutSeconds": 60, "firstScheduledTime": 2, "readyTime": 2,
            "output": {"paid": 12.5}
        }))
        .unwrap();
        let def = serde_json::from_value(json!({
            "name": "order", "version": 1,
            "tasks": [{"name": "charge", "taskReferenceName": "charge", "type": "SIMPLE"}]
        }))
        .unwrap();
        Execution {
            workflow,
            tasks: vec![task],
            def: Arc::new(def),
        }
    }

    #[test]
    fn executions_round_trip_through_files_of_several_frames() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::new(dir.path().join("archive")).unwrap();
        let a = execution("wf-a", "COMPLETED");
        let b = execution("wf-b", "FAILED");
        let p1 = w.append(&[encode_line(&a).unwrap()], 5).unwrap();
        let p2 = w.append(&[encode_line(&b).unwrap()], 6).unwrap();
        assert_eq!(p1, p2, "one file per start until it grows large");
        let mut back = Vec::new();
        read_file(&p1, |n, line| {
            back.push(parse_line(line, n)?);
            Ok(())
        })
        .unwrap();
        assert_eq!(back, vec![a, b]);
        // A new writer (a restart) begins a new file.
        let mut w2 = ArchiveWriter::new(dir.path().join("archive")).unwrap();
        let p3 = w2
            .append(&[encode_line(&execution("wf-c", "TERMINATED")).unwrap()], 5)
            .unwrap();
        assert_ne!(p3, p1);
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse_line(b"{\"workflow\": 3}", 7).unwrap_err().to_string();
        assert!(
            e.starts_with("line 7: not an archived execution at workflow"),
            "{e}"
        );
        let open = encode_line(&execution("wf-r", "RUNNING")).unwrap();
        let e = parse_line(&open, 2).unwrap_err().to_string();
        assert!(e.contains("RUNNING: only finished executions"), "{e}");
        let mut alien = execution("wf-x", "COMPLETED");
        alien.tasks[0].workflow_id = "other".into();
        let e = parse_line(&encode_line(&alien).unwrap(), 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not belong to workflow wf-x"), "{e}");
        let e = maybe_decompress(&[0x28, 0xB5, 0x2F, 0xFD, 0, 1, 2], 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not valid zstd"), "{e}");
    }

    #[test]
    fn plain_json_lines_are_read_too() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plain.jsonl");
        let a = execution("wf-a", "COMPLETED");
        let mut text = encode_line(&a).unwrap();
        text.extend_from_slice(b"\n\n");
        std::fs::write(&p, &text).unwrap();
        let mut n = 0;
        read_file(&p, |_, line| {
            assert_eq!(parse_line(line, 1)?, a);
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 1);
        assert_eq!(maybe_decompress(&text, 10_000).unwrap(), text);
    }
}
