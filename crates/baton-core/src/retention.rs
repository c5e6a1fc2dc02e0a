//! Retention: which finished executions have been kept long enough.
//!
//! A policy bounds finished runs of one workflow name by age (time since they ended) and
//! by count (only the newest N are kept). A run goes when either bound says so. The global
//! policy applies to every name; a definition's `retention` settings override it field by
//! field, or exempt the name altogether. Open runs are never subject to retention.
//!
//! Everything here is pure: the time is passed in, so the rules are tested on any clock.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A definition's retention settings, as written in its JSON under `retention`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionSettings {
    /// How long a finished run is kept after it ended, such as `30d`, `12h` or `90s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    /// How many finished runs of the workflow are kept, the newest ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u64>,
    /// Keep every finished run of this workflow, whatever the global policy says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_forever: bool,
}

/// Why a retention setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    /// The age is not a duration.
    #[error("{text:?} is not a duration (write it as 30d, 12h, 15m or 90s): {message}")]
    BadAge {
        /// What was given.
        text: String,
        /// What the parser said.
        message: String,
    },
    /// The age is zero or too large.
    #[error("{0:?} is out of range: a retention age is at least 1s and at most 100 years")]
    AgeOutOfRange(String),
    /// keepLast is zero.
    #[error("keepLast must be at least 1 (use maxAge to bound by time only)")]
    ZeroKeepLast,
}

const MAX_AGE_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

/// Parses an age such as `30d`, `12h`, `1h 30m` or `90s` into milliseconds.
pub fn parse_age(text: &str) -> Result<i64, RetentionError> {
    let d: Duration =
        humantime::parse_duration(text.trim()).map_err(|e| RetentionError::BadAge {
            text: text.to_string(),
            message: e.to_string(),
        })?;
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    if !(1000..=MAX_AGE_MS).contains(&ms) {
        return Err(RetentionError::AgeOutOfRange(text.to_string()));
    }
    Ok(ms)
}

impl RetentionSettings {
    /// Checks the settings, naming the first problem.
    pub fn check(&self) -> Result<(), RetentionError> {
        if let Some(age) = &self.max_age {
            parse_age(age)?;
        }
        if self.keep_last == Some(0) {
            return Err(RetentionError::ZeroKeepLast);
        }
        Ok(())
    }
}

/// Bounds on the finished runs of one workflow name. The default keeps everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Finished runs older than this (ms since they ended) go.
    pub max_age_ms: Option<i64>,
    /// Only this many finished runs are kept, the newest.
    pub keep_last: Option<u64>,
}

impl Policy {
    /// Keeps every finished run.
    pub const KEEP_ALL: Policy = Policy {
        max_age_ms: None,
        keep_last: None,
    };

    /// Whether the policy removes anything at all.
    pub fn is_bounded(&self) -> bool {
        self.max_age_ms.is_some() || self.keep_last.is_some()
    }

    /// The policy for a workflow name: `global`, with each field the definition sets
    /// taking its place; none at all when the definition keeps its runs forever.
    pub fn for_definition(
        global: Policy,
        settings: Option<&RetentionSettings>,
    ) -> Result<Policy, RetentionError> {
        let Some(s) = settings else {
            return Ok(global);
        };
        s.check()?;
        if s.keep_forever {
            return Ok(Policy::KEEP_ALL);
        }
        Ok(Policy {
            max_age_ms: match &s.max_age {
                Some(age) => Some(parse_age(age)?),
                None => global.max_age_ms,
            },
            keep_last: s.keep_last.or(global.keep_last),
        })
    }

    /// The age bound in whole seconds, as the APIs show it.
    pub fn max_age_secs(&self) -> Option<i64> {
        self.max_age_ms.map(|ms| ms / 1000)
    }

    /// Runs that ended before this time (epoch ms) are too old at `now_ms`.
    pub fn cutoff(&self, now_ms: i64) -> Option<i64> {
        self.max_age_ms.map(|age| now_ms.saturating_sub(age))
    }

    /// Whether a run that ended at `end_time` goes at `now_ms`; `beyond_kept` tells
    /// whether it is older than the newest `keep_last` runs of its name.
    pub fn is_expired(&self, now_ms: i64, end_time: i64, beyond_kept: bool) -> bool {
        (self.keep_last.is_some() && beyond_kept)
            || self.cutoff(now_ms).is_some_and(|c| end_time < c)
    }
}

/// A finished run as the retention pass sees it: ordered by end time, then id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finished {
    /// When it ended (epoch ms).
    pub end_time: i64,
    /// The execution.
    pub workflow_id: String,
}

/// How many runs at the front of `oldest_first` (finished runs of one name, oldest first)
/// have expired at `now_ms`. `oldest_kept` is the oldest of the newest `keep_last` runs
/// (None when the name has no more than that many, or the policy keeps any number):
/// every run ordered before it is beyond the kept ones. Expiry never skips a run: the
/// answer is a prefix, because both bounds only ever cut off the oldest runs.
pub fn expired_prefix(
    policy: &Policy,
    now_ms: i64,
    oldest_first: &[Finished],
    oldest_kept: Option<&Finished>,
) -> usize {
    oldest_first
        .iter()
        .take_while(|f| {
            let beyond_kept = oldest_kept.is_some_and(|k| *f < k);
            policy.is_expired(now_ms, f.end_time, beyond_kept)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3600 * 1000;

    fn runs(ends: &[i64]) -> Vec<Finished> {
        ends.iter()
            .enumerate()
            .map(|(i, &end_time)| Finished {
                end_time,
                workflow_id: format!("w{i:03}"),
            })
            .collect()
    }

    #[test]
    fn ages_parse_in_human_units_and_are_bounded() {
        assert_eq!(parse_age("30d"), Ok(30 * DAY));
        assert_eq!(parse_age("1h 30m"), Ok(90 * 60 * 1000));
        assert_eq!(parse_age(" 90s "), Ok(90_000));
        assert!(matches!(
            parse_age("soon"),
            Err(RetentionError::BadAge { .. })
        ));
        assert!(matches!(
            parse_age("30"),
            Err(RetentionError::BadAge { .. })
        ));
        assert_eq!(
            parse_age("10ms"),
            Err(RetentionError::AgeOutOfRange("10ms".into()))
        );
        assert_eq!(
            parse_age("200years"),
            Err(RetentionError::AgeOutOfRange("200years".into()))
        );
        let e = parse_age("3 fortnights").unwrap_err().to_string();
        assert!(e.contains("3 fortnights") && e.contains("30d"), "{e}");
    }

    #[test]
    fn a_definition_overrides_the_global_policy_field_by_field() {
        let global = Policy {
            max_age_ms: Some(30 * DAY),
            keep_last: Some(1000),
        };
        assert_eq!(Policy::for_definition(global, None), Ok(global));
        let only_age = RetentionSettings {
            max_age: Some("7d".into()),
            ..Default::default()
        };
        assert_eq!(
            Policy::for_definition(global, Some(&only_age)),
            Ok(Policy {
                max_age_ms: Some(7 * DAY),
                keep_last: Some(1000)
            })
        );
        let only_count = RetentionSettings {
            keep_last: Some(5),
            ..Default::default()
        };
        assert_eq!(
            Policy::for_definition(Policy::KEEP_ALL, Some(&only_count)),
            Ok(Policy {
                max_age_ms: None,
                keep_last: Some(5)
            })
        );
        let forever = RetentionSettings {
            keep_forever: true,
            ..Default::default()
        };
        assert_eq!(
            Policy::for_definition(global, Some(&forever)),
            Ok(Policy::KEEP_ALL)
        );
        let zero = RetentionSettings {
            keep_last: Some(0),
            ..Default::default()
        };
        assert_eq!(
            Policy::for_definition(global, Some(&zero)),
            Err(RetentionError::ZeroKeepLast)
        );
    }

    #[test]
    fn settings_read_and_write_as_the_definition_json_has_them() {
        let s: RetentionSettings =
            serde_json::from_value(serde_json::json!({"maxAge": "7d", "keepLast": 10})).unwrap();
        assert_eq!(s.max_age.as_deref(), Some("7d"));
        assert_eq!(s.keep_last, Some(10));
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"maxAge": "7d", "keepLast": 10})
        );
    }

    #[test]
    fn age_expires_runs_as_the_clock_moves_on() {
        let policy = Policy {
            max_age_ms: Some(DAY),
            keep_last: None,
        };
        let t0 = 1_700_000_000_000;
        let page = runs(&[t0, t0 + 1000, t0 + DAY]);
        // Nothing is a day old yet.
        assert_eq!(expired_prefix(&policy, t0 + DAY - 1, &page, None), 0);
        // The clock moves: one day after the first run ended, exactly a day old is kept.
        assert_eq!(expired_prefix(&policy, t0 + DAY, &page, None), 0);
        assert_eq!(expired_prefix(&policy, t0 + DAY + 1, &page, None), 1);
        assert_eq!(expired_prefix(&policy, t0 + DAY + 1001, &page, None), 2);
        assert_eq!(expired_prefix(&policy, t0 + 3 * DAY, &page, None), 3);
    }

    #[test]
    fn count_keeps_the_newest_runs_whatever_the_time() {
        let policy = Policy {
            max_age_ms: None,
            keep_last: Some(2),
        };
        let page = runs(&[10, 20, 30, 40, 50]);
        // The newest two are 40 and 50: the oldest kept is 40.
        let oldest_kept = page[3].clone();
        assert_eq!(expired_prefix(&policy, 0, &page, Some(&oldest_kept)), 3);
        assert_eq!(
            expired_prefix(&policy, i64::MAX, &page, Some(&oldest_kept)),
            3
        );
        // Fewer runs than the bound: nothing is beyond it.
        assert_eq!(expired_prefix(&policy, i64::MAX, &page, None), 0);
    }

    #[test]
    fn runs_ending_at_the_same_time_are_told_apart_by_id() {
        let policy = Policy {
            max_age_ms: None,
            keep_last: Some(1),
        };
        let page = runs(&[5, 5, 5]);
        assert_eq!(expired_prefix(&policy, 0, &page, Some(&page[2])), 2);
    }

    #[test]
    fn either_bound_removes_and_expiry_is_always_a_prefix() {
        let policy = Policy {
            max_age_ms: Some(100),
            keep_last: Some(3),
        };
        let page = runs(&[10, 20, 30, 40, 500, 600]);
        // By count: the newest three are 40, 500, 600, so 10..30 go; by age at 550 the
        // cutoff is 450: 40 goes too.
        assert_eq!(expired_prefix(&policy, 550, &page, Some(&page[3])), 4);
        // At 50 age removes nothing, count still removes three.
        assert_eq!(expired_prefix(&policy, 50, &page, Some(&page[3])), 3);
        // A policy that keeps everything never expires anything.
        assert_eq!(
            expired_prefix(&Policy::KEEP_ALL, i64::MAX, &page, Some(&page[5])),
            0
        );
    }
}
