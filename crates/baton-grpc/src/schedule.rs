//! ScheduleService: schedules saved, read, steered, previewed and their history read.
//! Definitions travel as Conductor's schedule JSON and are parsed here into the core's
//! `ScheduleDef`; everything else is the service layer's.

use baton_core::schedule::{OverlapPolicy, Preview, ScheduleDef};
use baton_proto::v1 as pb;
use baton_proto::v1::schedule_service_server::ScheduleService;
use baton_server::Service;
use baton_server::service::{PreviewOf, ScheduleEvent, ScheduleView};
use tonic::{Request, Response, Status};

use crate::convert::{json_to_value, ms, object_to_struct, opt_ts, struct_to_object, ts};
use crate::status;

/// Slots a preview returns when the request does not say.
const DEFAULT_PREVIEW: usize = 10;

/// History entries returned when the request does not say.
const DEFAULT_HISTORY: usize = 100;

/// A preview without an end looks this far after its start.
const PREVIEW_SPAN_MS: i64 = 366 * 24 * 3600 * 1000;

/// The ScheduleService implementation.
pub struct Schedules {
    svc: Service,
}

impl Schedules {
    /// Answers from `svc`.
    pub fn new(svc: Service) -> Self {
        Self { svc }
    }
}

/// Conductor's schedule JSON as a definition; a malformed document is refused with the
/// place and cause of the problem.
pub fn parse_definition(json: &str) -> Result<ScheduleDef, Status> {
    if json.trim().is_empty() {
        return Err(Status::invalid_argument(
            "definition_json: a schedule definition (Conductor's schedule JSON) is required",
        ));
    }
    serde_json::from_str(json).map_err(|e| {
        Status::invalid_argument(format!(
            "definition_json: not a valid schedule definition: {e}"
        ))
    })
}

/// An overlap policy by its Conductor name; empty means none.
fn overlap(field: &str, text: &str) -> Result<Option<OverlapPolicy>, Status> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|e: String| Status::invalid_argument(format!("{field}: {e}")))
}

fn name_of(field: &str, name: &str) -> Result<(), Status> {
    if name.trim().is_empty() {
        return Err(Status::invalid_argument(format!(
            "{field}: a schedule name is required"
        )));
    }
    Ok(())
}

fn limit(field: &str, n: i32, default: usize) -> Result<usize, Status> {
    match n {
        0 => Ok(default),
        n if n < 0 => Err(Status::invalid_argument(format!(
            "{field}: must not be negative, got {n}"
        ))),
        n => Ok(n as usize),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A schedule on the wire.
pub fn view_to_pb(v: ScheduleView) -> Result<pb::ScheduleView, Status> {
    let definition_json = serde_json::to_string(&v.def)
        .map_err(|e| Status::internal(format!("cannot encode schedule {}: {e}", v.def.name)))?;
    let c = v.counters;
    Ok(pb::ScheduleView {
        name: v.def.name.clone(),
        zone_id: v.def.zone_id.clone().unwrap_or_else(|| "UTC".into()),
        workflow_name: v.def.start_workflow_request.name.clone(),
        definition_json,
        paused: v.paused,
        note: v.note.unwrap_or_default(),
        next_run_time: opt_ts(v.next_run_ms),
        last_fired_time: opt_ts(v.last_fired_ms),
        counters: Some(pb::ScheduleCounters {
            fired: c.fired as i64,
            missed: c.missed as i64,
            skipped_by_overlap: c.skipped_by_overlap as i64,
            buffered: c.buffered as i64,
            failed_to_start: c.failed_to_start as i64,
            succeeded: c.succeeded as i64,
            failed: c.failed as i64,
            manual: c.manual as i64,
            backfilled: c.backfilled as i64,
        }),
        open_runs: v.open_runs,
        buffered: v.buffered as i64,
        consecutive_failures: i64::from(v.consecutive_failures),
        exhausted: v.exhausted,
        revision: v.revision as i64,
        create_time: Some(ts(v.created_ms)),
        update_time: Some(ts(v.updated_ms)),
    })
}

fn preview_to_pb(p: Preview, zone_id: String) -> pb::PreviewScheduleResponse {
    pb::PreviewScheduleResponse {
        slots: p
            .slots
            .into_iter()
            .map(|s| pb::ScheduleSlot {
                time: Some(ts(s.at_ms)),
                spec: s.spec,
                spec_index: s.spec_index as i32,
            })
            .collect(),
        truncated: p.truncated,
        zone_id,
    }
}

fn event_to_pb(e: ScheduleEvent) -> pb::ScheduleHistoryEntry {
    let event = match json_to_value(&e.event).kind {
        Some(prost_types::value::Kind::StructValue(s)) => s,
        _ => {
            let mut o = baton_core::Object::new();
            o.insert("value".into(), e.event);
            object_to_struct(&o)
        }
    };
    pb::ScheduleHistoryEntry {
        slot_time: Some(ts(e.slot_ms)),
        record_time: Some(ts(e.recorded_ms)),
        event: Some(event),
    }
}

#[tonic::async_trait]
impl ScheduleService for Schedules {
    async fn save_schedule(
        &self,
        req: Request<pb::SaveScheduleRequest>,
    ) -> Result<Response<pb::SaveScheduleResponse>, Status> {
        let def = parse_definition(&req.get_ref().definition_json)?;
        let name = def.name.clone();
        let view = self.svc.save_schedule(def).await.map_err(status)?;
        tracing::info!(schedule = %name, "schedule saved");
        Ok(Response::new(pb::SaveScheduleResponse {
            schedule: Some(view_to_pb(view)?),
        }))
    }

    async fn get_schedule(
        &self,
        req: Request<pb::GetScheduleRequest>,
    ) -> Result<Response<pb::GetScheduleResponse>, Status> {
        let name = &req.get_ref().name;
        name_of("name", name)?;
        let view = self.svc.get_schedule(name).await.map_err(status)?;
        Ok(Response::new(pb::GetScheduleResponse {
            schedule: Some(view_to_pb(view)?),
        }))
    }

    async fn list_schedules(
        &self,
        req: Request<pb::ListSchedulesRequest>,
    ) -> Result<Response<pb::ListSchedulesResponse>, Status> {
        let filter = req.get_ref().workflow_name.trim();
        let views = self
            .svc
            .list_schedules(Some(filter).filter(|w| !w.is_empty()))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListSchedulesResponse {
            schedules: views
                .into_iter()
                .map(view_to_pb)
                .collect::<Result<_, _>>()?,
        }))
    }

    async fn delete_schedule(
        &self,
        req: Request<pb::DeleteScheduleRequest>,
    ) -> Result<Response<pb::DeleteScheduleResponse>, Status> {
        let name = &req.get_ref().name;
        name_of("name", name)?;
        self.svc.delete_schedule(name).await.map_err(status)?;
        tracing::info!(schedule = %name, "schedule deleted");
        Ok(Response::new(pb::DeleteScheduleResponse {}))
    }

    async fn pause_schedule(
        &self,
        req: Request<pb::PauseScheduleRequest>,
    ) -> Result<Response<pb::PauseScheduleResponse>, Status> {
        let r = req.into_inner();
        name_of("name", &r.name)?;
        let view = self
            .svc
            .pause_schedule(&r.name, Some(r.note))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::PauseScheduleResponse {
            schedule: Some(view_to_pb(view)?),
        }))
    }

    async fn resume_schedule(
        &self,
        req: Request<pb::ResumeScheduleRequest>,
    ) -> Result<Response<pb::ResumeScheduleResponse>, Status> {
        let r = req.into_inner();
        name_of("name", &r.name)?;
        let view = self
            .svc
            .resume_schedule(&r.name, Some(r.note))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ResumeScheduleResponse {
            schedule: Some(view_to_pb(view)?),
        }))
    }

    async fn bulk_pause_schedules(
        &self,
        req: Request<pb::BulkPauseSchedulesRequest>,
    ) -> Result<Response<pb::BulkPauseSchedulesResponse>, Status> {
        let r = req.into_inner();
        let outcomes = self
            .svc
            .bulk_pause_schedules(r.names, !r.resume, Some(r.note))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::BulkPauseSchedulesResponse {
            outcomes: outcomes
                .into_iter()
                .map(|(name, outcome)| pb::BulkScheduleOutcome {
                    name,
                    ok: outcome.is_ok(),
                    error: outcome.err().map(|e| e.to_string()).unwrap_or_default(),
                })
                .collect(),
        }))
    }

    async fn trigger_schedule(
        &self,
        req: Request<pb::TriggerScheduleRequest>,
    ) -> Result<Response<pb::TriggerScheduleResponse>, Status> {
        let r = req.into_inner();
        name_of("name", &r.name)?;
        let overlap = overlap("overlap", &r.overlap)?;
        let input = r.input.as_ref().map(struct_to_object);
        let workflow_ids = self
            .svc
            .trigger_schedule(&r.name, input, overlap)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::TriggerScheduleResponse { workflow_ids }))
    }

    async fn backfill_schedule(
        &self,
        req: Request<pb::BackfillScheduleRequest>,
    ) -> Result<Response<pb::BackfillScheduleResponse>, Status> {
        let r = req.into_inner();
        name_of("name", &r.name)?;
        let from = r.from_time.as_ref().map(ms).ok_or_else(|| {
            Status::invalid_argument("from_time: the start of the range is required")
        })?;
        let until = r.until_time.as_ref().map(ms).unwrap_or_else(now_ms);
        let overlap = overlap("overlap", &r.overlap)?;
        let view = self
            .svc
            .backfill_schedule(&r.name, from, until, overlap)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::BackfillScheduleResponse {
            schedule: Some(view_to_pb(view)?),
        }))
    }

    async fn preview_schedule(
        &self,
        req: Request<pb::PreviewScheduleRequest>,
    ) -> Result<Response<pb::PreviewScheduleResponse>, Status> {
        use pb::preview_schedule_request::Of;
        let r = req.into_inner();
        let from = r.from_time.as_ref().map(ms).unwrap_or_else(now_ms);
        let until = r
            .until_time
            .as_ref()
            .map(ms)
            .unwrap_or(from.saturating_add(PREVIEW_SPAN_MS));
        let limit = limit("limit", r.limit, DEFAULT_PREVIEW)?;
        let (of, zone) = match r.of {
            Some(Of::DefinitionJson(json)) => {
                let def = parse_definition(&json)?;
                let zone = def.zone_id.clone();
                (PreviewOf::Def(Box::new(def)), zone)
            }
            Some(Of::Name(name)) => {
                name_of("name", &name)?;
                let def = self.svc.get_schedule(&name).await.map_err(status)?.def;
                let zone = def.zone_id.clone();
                (PreviewOf::Def(Box::new(def)), zone)
            }
            Some(Of::CronExpression(expression)) => {
                let zone = Some(r.zone_id).filter(|z| !z.trim().is_empty());
                (
                    PreviewOf::Cron {
                        expression,
                        zone: zone.clone(),
                    },
                    zone,
                )
            }
            None => {
                return Err(Status::invalid_argument(
                    "of: give definition_json, name or cron_expression",
                ));
            }
        };
        let preview = self
            .svc
            .preview_schedule(of, from, until, limit)
            .map_err(status)?;
        Ok(Response::new(preview_to_pb(
            preview,
            zone.unwrap_or_else(|| "UTC".into()),
        )))
    }

    async fn get_schedule_history(
        &self,
        req: Request<pb::GetScheduleHistoryRequest>,
    ) -> Result<Response<pb::GetScheduleHistoryResponse>, Status> {
        let r = req.into_inner();
        name_of("name", &r.name)?;
        let from = r.from_time.as_ref().map(ms).unwrap_or(0);
        let until = r.until_time.as_ref().map(ms).unwrap_or(i64::MAX);
        let limit = limit("limit", r.limit, DEFAULT_HISTORY)?;
        let entries = self
            .svc
            .schedule_history(&r.name, from, until, limit)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetScheduleHistoryResponse {
            entries: entries.into_iter().map(event_to_pb).collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_definitions_name_the_problem() {
        let e = parse_definition("").unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains("definition_json"), "{e}");
        let e = parse_definition("{\"name\": ").unwrap_err();
        assert!(e.message().contains("line 1"), "{e}");
        let e = parse_definition(r#"{"name": "x", "cronExpression": 5}"#).unwrap_err();
        assert!(e.message().contains("definition_json"), "{e}");
        let d = parse_definition(
            r#"{"name": "x", "cronExpression": "0 9 * * *", "startWorkflowRequest": {"name": "w"}}"#,
        )
        .unwrap();
        assert_eq!(d.cron_expression.as_deref(), Some("0 9 * * *"));
    }

    #[test]
    fn overlap_policies_by_name() {
        assert_eq!(overlap("overlap", "").unwrap(), None);
        assert_eq!(
            overlap("overlap", "skip").unwrap(),
            Some(OverlapPolicy::Skip)
        );
        assert_eq!(
            overlap("overlap", "BUFFER_ALL").unwrap(),
            Some(OverlapPolicy::BufferAll)
        );
        let e = overlap("overlap", "SOMETIMES").unwrap_err();
        assert!(e.message().contains("SOMETIMES"), "{e}");
    }

    #[test]
    fn limits_default_and_refuse_negatives() {
        assert_eq!(limit("limit", 0, 10).unwrap(), 10);
        assert_eq!(limit("limit", 3, 10).unwrap(), 3);
        assert!(limit("limit", -1, 10).is_err());
    }
}
