//! `baton schedule ...`: schedules saved, read, steered, previewed and their history read
//! over gRPC. Definitions are Conductor's schedule JSON.

use std::path::PathBuf;

use anyhow::{Context, bail};
use baton_grpc::convert::{ms, object_to_struct, struct_to_object};
use baton_proto::v1 as pb;
use baton_proto::v1::schedule_service_client::ScheduleServiceClient;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::cli::{Conn, channel, json_object, print_json, read_json, timestamp};

/// `baton schedule ...`
#[derive(Subcommand)]
pub enum ScheduleCommand {
    /// Creates schedules from a file of Conductor's schedule JSON (one or an array);
    /// refused for a name that exists already.
    Create {
        /// The JSON file ("-" reads standard input).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        #[command(flatten)]
        conn: Conn,
    },
    /// Creates or replaces schedules from a file of Conductor's schedule JSON (one or an
    /// array); a replaced schedule keeps its state and history.
    Apply {
        /// The JSON file ("-" reads standard input).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lists schedules with their next run and state.
    List {
        /// Only schedules starting this workflow.
        #[arg(long)]
        workflow: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Shows one schedule: its state, counters and definition.
    Get {
        /// Schedule name.
        name: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Pauses schedules.
    Pause {
        /// Schedule names.
        #[arg(required = true)]
        names: Vec<String>,
        /// Why.
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Resumes paused schedules.
    Resume {
        /// Schedule names.
        #[arg(required = true)]
        names: Vec<String>,
        /// Why.
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Runs a schedule's workflow now, paused or not.
    Trigger {
        /// Schedule name.
        name: String,
        /// JSON object merged into the workflow input for this run.
        #[arg(long)]
        input: Option<String>,
        /// Overlap policy for this run (SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER,
        /// TERMINATE_OTHER, ALLOW_ALL).
        #[arg(long)]
        overlap: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Runs every slot of a past range that has not run yet.
    Backfill {
        /// Schedule name.
        name: String,
        /// Start of the range (RFC 3339 or epoch ms).
        #[arg(long)]
        from: String,
        /// End of the range (RFC 3339 or epoch ms); now when absent.
        #[arg(long)]
        until: Option<String>,
        /// Overlap policy for these runs.
        #[arg(long)]
        overlap: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Deletes a schedule and its history; its open runs go on.
    Delete {
        /// Schedule name.
        name: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lists the times a saved schedule, a definition file or a cron expression fires.
    Preview {
        /// A saved schedule's name.
        #[arg(conflicts_with_all = ["file", "cron"])]
        name: Option<String>,
        /// A definition file ("-" reads standard input); it need not be saved.
        #[arg(short = 'f', long = "file", conflicts_with = "cron")]
        file: Option<PathBuf>,
        /// A cron expression (5 or 6 fields).
        #[arg(long)]
        cron: Option<String>,
        /// IANA zone of --cron; UTC when absent.
        #[arg(long, requires = "cron")]
        zone: Option<String>,
        /// Start (RFC 3339 or epoch ms); now when absent.
        #[arg(long)]
        from: Option<String>,
        /// End (RFC 3339 or epoch ms); a year after the start when absent.
        #[arg(long)]
        until: Option<String>,
        /// Most times to list.
        #[arg(long, default_value_t = 10)]
        limit: u16,
        #[command(flatten)]
        conn: Conn,
    },
    /// Shows a schedule's history, newest first.
    History {
        /// Schedule name.
        name: String,
        /// Only slots from this time (RFC 3339 or epoch ms).
        #[arg(long)]
        from: Option<String>,
        /// Only slots up to this time (RFC 3339 or epoch ms).
        #[arg(long)]
        until: Option<String>,
        /// Most entries to list.
        #[arg(long, default_value_t = 100)]
        limit: u16,
        #[command(flatten)]
        conn: Conn,
    },
}

async fn client(conn: &Conn) -> anyhow::Result<ScheduleServiceClient<crate::tls::Client>> {
    Ok(ScheduleServiceClient::new(channel(conn).await?))
}

/// A time as ISO-8601 UTC, then in `zone` when that is another zone.
fn at(t: Option<&prost_types::Timestamp>, zone: &str) -> String {
    let Some(t) = t else { return "-".into() };
    let Some(utc) = chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32) else {
        return "-".into();
    };
    let text = utc.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    match zone.parse::<chrono_tz::Tz>() {
        Ok(tz) if tz != chrono_tz::UTC && !zone.is_empty() && zone != "UTC" => {
            let local = utc.with_timezone(&tz);
            format!("{text} ({} {zone})", local.format("%Y-%m-%dT%H:%M:%S%:z"))
        }
        _ => text,
    }
}

fn iso(t: Option<&prost_types::Timestamp>) -> Value {
    t.map(|t| Value::String(at(Some(t), "UTC")))
        .unwrap_or(Value::Null)
}

fn view_json(v: &pb::ScheduleView) -> Value {
    let definition: Value = serde_json::from_str(&v.definition_json).unwrap_or(Value::Null);
    let c = v.counters.unwrap_or_default();
    json!({
        "name": v.name,
        "workflowName": v.workflow_name,
        "zoneId": v.zone_id,
        "paused": v.paused,
        "note": v.note,
        "nextRunTime": iso(v.next_run_time.as_ref()),
        "lastFiredTime": iso(v.last_fired_time.as_ref()),
        "counters": {
            "fired": c.fired, "missed": c.missed, "skippedByOverlap": c.skipped_by_overlap,
            "buffered": c.buffered, "failedToStart": c.failed_to_start,
            "succeeded": c.succeeded, "failed": c.failed, "manual": c.manual,
            "backfilled": c.backfilled,
        },
        "openRuns": v.open_runs,
        "buffered": v.buffered,
        "consecutiveFailures": v.consecutive_failures,
        "exhausted": v.exhausted,
        "revision": v.revision,
        "createTime": iso(v.create_time.as_ref()),
        "updateTime": iso(v.update_time.as_ref()),
        "definition": definition,
    })
}

fn state(v: &pb::ScheduleView) -> &'static str {
    if v.exhausted {
        "EXHAUSTED"
    } else if v.paused {
        "PAUSED"
    } else {
        "ACTIVE"
    }
}

fn print_view(v: &pb::ScheduleView, as_json: bool) {
    if as_json {
        print_json(&view_json(v));
        return;
    }
    let c = v.counters.unwrap_or_default();
    println!("name:         {}", v.name);
    println!("workflow:     {}", v.workflow_name);
    println!("zone:         {}", v.zone_id);
    println!("state:        {}", state(v));
    if !v.note.is_empty() {
        println!("note:         {}", v.note);
    }
    println!("next run:     {}", at(v.next_run_time.as_ref(), &v.zone_id));
    println!(
        "last fired:   {}",
        at(v.last_fired_time.as_ref(), &v.zone_id)
    );
    println!(
        "runs:         {} fired, {} manual, {} backfilled, {} succeeded, {} failed",
        c.fired, c.manual, c.backfilled, c.succeeded, c.failed
    );
    println!(
        "slots:        {} missed, {} skipped by overlap, {} buffered, {} failed to start",
        c.missed, c.skipped_by_overlap, c.buffered, c.failed_to_start
    );
    println!(
        "open runs:    {}",
        if v.open_runs.is_empty() {
            "-".to_string()
        } else {
            v.open_runs.join(", ")
        }
    );
    println!("revision:     {}", v.revision);
    println!("definition:");
    let def: Value = serde_json::from_str(&v.definition_json).unwrap_or(Value::Null);
    println!("{}", serde_json::to_string_pretty(&def).unwrap_or_default());
}

/// The definitions of a file: one object or an array of them, each as JSON text.
fn definitions(file: &PathBuf) -> anyhow::Result<Vec<(String, String)>> {
    let items = match read_json(file)? {
        Value::Array(a) => a,
        other => vec![other],
    };
    if items.is_empty() {
        bail!("{} holds no schedule", file.display());
    }
    items
        .into_iter()
        .map(|v| {
            let name = v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            Ok((name, serde_json::to_string(&v)?))
        })
        .collect()
}

fn opt_time(flag: &str, text: Option<&str>) -> anyhow::Result<Option<prost_types::Timestamp>> {
    text.map(|t| timestamp(flag, t)).transpose()
}

/// Runs a `baton schedule` command.
pub async fn run(cmd: ScheduleCommand) -> anyhow::Result<()> {
    match cmd {
        ScheduleCommand::Create { file, conn } => save(file, conn, true).await?,
        ScheduleCommand::Apply { file, conn } => save(file, conn, false).await?,
        ScheduleCommand::List { workflow, conn } => {
            let r = client(&conn)
                .await?
                .list_schedules(pb::ListSchedulesRequest {
                    workflow_name: workflow.unwrap_or_default(),
                })
                .await?
                .into_inner();
            if conn.json {
                print_json(&Value::Array(r.schedules.iter().map(view_json).collect()));
            } else if r.schedules.is_empty() {
                println!("(no schedules)");
            } else {
                println!(
                    "{:<28} {:<24} {:<9} {:<20} {:>6} {:>5}",
                    "NAME", "WORKFLOW", "STATE", "NEXT RUN (UTC)", "FIRED", "OPEN"
                );
                for v in &r.schedules {
                    println!(
                        "{:<28} {:<24} {:<9} {:<20} {:>6} {:>5}",
                        v.name,
                        v.workflow_name,
                        state(v),
                        at(v.next_run_time.as_ref(), "UTC"),
                        v.counters.as_ref().map(|c| c.fired).unwrap_or(0),
                        v.open_runs.len()
                    );
                }
            }
        }
        ScheduleCommand::Get { name, conn } => {
            let r = client(&conn)
                .await?
                .get_schedule(pb::GetScheduleRequest { name })
                .await?
                .into_inner();
            if let Some(v) = r.schedule {
                print_view(&v, conn.json);
            }
        }
        ScheduleCommand::Pause { names, note, conn } => {
            pause(names, note, conn, true).await?;
        }
        ScheduleCommand::Resume { names, note, conn } => {
            pause(names, note, conn, false).await?;
        }
        ScheduleCommand::Trigger {
            name,
            input,
            overlap,
            conn,
        } => {
            let input = input
                .map(|t| json_object("--input", &t).map(|o| object_to_struct(&o)))
                .transpose()?;
            let r = client(&conn)
                .await?
                .trigger_schedule(pb::TriggerScheduleRequest {
                    name: name.clone(),
                    input,
                    overlap: overlap.unwrap_or_default(),
                })
                .await?
                .into_inner();
            if conn.json {
                print_json(&json!({"name": name, "workflowIds": r.workflow_ids}));
            } else if r.workflow_ids.is_empty() {
                println!("schedule {name}: no workflow started (the overlap policy held the run)");
            } else {
                for id in &r.workflow_ids {
                    println!("schedule {name} started {id}");
                }
            }
        }
        ScheduleCommand::Backfill {
            name,
            from,
            until,
            overlap,
            conn,
        } => {
            let r = client(&conn)
                .await?
                .backfill_schedule(pb::BackfillScheduleRequest {
                    name: name.clone(),
                    from_time: Some(timestamp("--from", &from)?),
                    until_time: opt_time("--until", until.as_deref())?,
                    overlap: overlap.unwrap_or_default(),
                })
                .await?
                .into_inner();
            if conn.json {
                print_json(&r.schedule.as_ref().map(view_json).unwrap_or_default());
            } else {
                println!("schedule {name}: backfill accepted");
            }
        }
        ScheduleCommand::Delete { name, conn } => {
            client(&conn)
                .await?
                .delete_schedule(pb::DeleteScheduleRequest { name: name.clone() })
                .await?;
            if conn.json {
                print_json(&json!({"name": name, "result": "deleted"}));
            } else {
                println!("schedule {name} deleted");
            }
        }
        ScheduleCommand::Preview {
            name,
            file,
            cron,
            zone,
            from,
            until,
            limit,
            conn,
        } => {
            use pb::preview_schedule_request::Of;
            let of = match (name, file, cron) {
                (Some(n), None, None) => Of::Name(n),
                (None, Some(f), None) => {
                    let mut defs = definitions(&f)?;
                    if defs.len() != 1 {
                        bail!("{} must hold exactly one schedule to preview", f.display());
                    }
                    Of::DefinitionJson(defs.remove(0).1)
                }
                (None, None, Some(c)) => Of::CronExpression(c),
                _ => bail!("give a schedule name, -f FILE or --cron EXPRESSION"),
            };
            let r = client(&conn)
                .await?
                .preview_schedule(pb::PreviewScheduleRequest {
                    of: Some(of),
                    zone_id: zone.unwrap_or_default(),
                    from_time: opt_time("--from", from.as_deref())?,
                    until_time: opt_time("--until", until.as_deref())?,
                    limit: i32::from(limit),
                })
                .await?
                .into_inner();
            if conn.json {
                print_json(&json!({
                    "zoneId": r.zone_id,
                    "truncated": r.truncated,
                    "slots": r.slots.iter().map(|s| json!({
                        "time": iso(s.time.as_ref()),
                        "timeMs": s.time.as_ref().map(ms),
                        "spec": s.spec,
                        "specIndex": s.spec_index,
                    })).collect::<Vec<_>>(),
                }));
            } else {
                if r.slots.is_empty() {
                    println!("(no slots in the range)");
                }
                for s in &r.slots {
                    println!("{}\t{}", at(s.time.as_ref(), &r.zone_id), s.spec);
                }
                if r.truncated {
                    println!("(more slots in the range)");
                }
            }
        }
        ScheduleCommand::History {
            name,
            from,
            until,
            limit,
            conn,
        } => {
            let r = client(&conn)
                .await?
                .get_schedule_history(pb::GetScheduleHistoryRequest {
                    name,
                    from_time: opt_time("--from", from.as_deref())?,
                    until_time: opt_time("--until", until.as_deref())?,
                    limit: i32::from(limit),
                })
                .await?
                .into_inner();
            let event = |e: &pb::ScheduleHistoryEntry| {
                e.event
                    .as_ref()
                    .map(|s| Value::Object(struct_to_object(s)))
                    .unwrap_or(Value::Null)
            };
            if conn.json {
                print_json(&Value::Array(
                    r.entries
                        .iter()
                        .map(|e| {
                            json!({
                                "slotTime": iso(e.slot_time.as_ref()),
                                "recordTime": iso(e.record_time.as_ref()),
                                "event": event(e),
                            })
                        })
                        .collect(),
                ));
            } else if r.entries.is_empty() {
                println!("(no history)");
            } else {
                println!("{:<20} {:<8} DETAIL", "SLOT (UTC)", "TYPE");
                for e in &r.entries {
                    let mut ev = event(e);
                    let kind = ev
                        .as_object_mut()
                        .and_then(|o| o.remove("type"))
                        .and_then(|t| t.as_str().map(str::to_string))
                        .unwrap_or_default();
                    println!("{:<20} {:<8} {}", at(e.slot_time.as_ref(), "UTC"), kind, ev);
                }
            }
        }
    }
    Ok(())
}

async fn save(file: PathBuf, conn: Conn, create: bool) -> anyhow::Result<()> {
    let defs = definitions(&file)?;
    let mut c = client(&conn).await?;
    let mut out = Vec::new();
    for (name, definition_json) in defs {
        let exists = if name.is_empty() {
            false
        } else {
            match c
                .get_schedule(pb::GetScheduleRequest { name: name.clone() })
                .await
            {
                Ok(_) => true,
                Err(e) if e.code() == tonic::Code::NotFound => false,
                Err(e) => return Err(e.into()),
            }
        };
        if create && exists {
            bail!("schedule {name} exists already (use `baton schedule apply -f` to replace it)");
        }
        let v = c
            .save_schedule(pb::SaveScheduleRequest { definition_json })
            .await
            .with_context(|| format!("schedule {name}"))?
            .into_inner()
            .schedule
            .unwrap_or_default();
        let what = if exists { "updated" } else { "created" };
        out.push((v, what));
    }
    if conn.json {
        print_json(&Value::Array(
            out.iter()
                .map(|(v, what)| json!({"name": v.name, "result": what, "schedule": view_json(v)}))
                .collect(),
        ));
    } else {
        for (v, what) in &out {
            println!(
                "schedule {} {what}; next run {}",
                v.name,
                at(v.next_run_time.as_ref(), &v.zone_id)
            );
        }
    }
    Ok(())
}

async fn pause(names: Vec<String>, note: String, conn: Conn, pause: bool) -> anyhow::Result<()> {
    let mut c = client(&conn).await?;
    let what = if pause { "paused" } else { "resumed" };
    if let [name] = names.as_slice() {
        let v = if pause {
            c.pause_schedule(pb::PauseScheduleRequest {
                name: name.clone(),
                note,
            })
            .await?
            .into_inner()
            .schedule
        } else {
            c.resume_schedule(pb::ResumeScheduleRequest {
                name: name.clone(),
                note,
            })
            .await?
            .into_inner()
            .schedule
        };
        if conn.json {
            print_json(&v.as_ref().map(view_json).unwrap_or_default());
        } else {
            println!("schedule {name} {what}");
        }
        return Ok(());
    }
    let r = c
        .bulk_pause_schedules(pb::BulkPauseSchedulesRequest {
            names,
            resume: !pause,
            note,
        })
        .await?
        .into_inner();
    if conn.json {
        print_json(&Value::Array(
            r.outcomes
                .iter()
                .map(|o| json!({"name": o.name, "ok": o.ok, "error": o.error}))
                .collect(),
        ));
    } else {
        for o in &r.outcomes {
            if o.ok {
                println!("schedule {} {what}", o.name);
            } else {
                println!("schedule {}: {}", o.name, o.error);
            }
        }
    }
    if r.outcomes.iter().any(|o| !o.ok) {
        bail!("some schedules were not {what}");
    }
    Ok(())
}
