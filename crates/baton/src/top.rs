//! `baton top`: a live view of a running server, read from `MonitorService.GetOverview`
//! every interval (one small answer per refresh). Rates are the difference of two
//! readings; the first frame (and `--once`) shows averages since the server started.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use baton_proto::v1 as pb;
use baton_proto::v1::monitor_service_client::MonitorServiceClient;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

/// `baton top`
#[derive(clap::Args)]
pub struct TopArgs {
    /// Server address: `http://host:port`, or `https://host:port` for a server with TLS.
    #[arg(long, env = "BATON_SERVER", default_value = "http://127.0.0.1:7070")]
    server: String,
    #[command(flatten)]
    tls: crate::tls::ClientTls,
    /// Seconds between refreshes.
    #[arg(long, default_value_t = 1.0, value_parser = parse_interval)]
    interval: f64,
    /// Failed executions to list (at most 100).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=100))]
    failures: u8,
    /// Print one frame as plain text and exit (the default when standard output is not a
    /// terminal).
    #[arg(long)]
    once: bool,
    /// Width of the frame printed by --once.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u16).range(40..=1000))]
    width: u16,
    /// Height of the frame printed by --once.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u16).range(10..=1000))]
    height: u16,
}

fn parse_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.1..=3600.0).contains(&v) {
        return Err(format!("must be between 0.1 and 3600 seconds, got {v}"));
    }
    Ok(v)
}

/// Runs the view.
pub async fn run(args: TopArgs) -> anyhow::Result<()> {
    let interval = Duration::from_secs_f64(args.interval);
    // A reading that takes longer than this is given up (the view keeps the last one).
    let timeout = interval.max(Duration::from_secs(5));
    let channel = args
        .tls
        .endpoint(&args.server)?
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .connect()
        .await
        .with_context(|| format!("cannot reach baton server at {}", args.server))?;
    let mut client = MonitorServiceClient::new(args.tls.client(channel)?);
    let first = read(&mut client, args.failures)
        .await
        .with_context(|| format!("cannot read the overview from {}", args.server))?;
    let mut view = View::new(args.server.clone(), args.interval);
    view.update(first);

    if args.once || !std::io::stdout().is_terminal() {
        view.live = false;
        let mut terminal = Terminal::new(TestBackend::new(args.width, args.height))?;
        terminal.draw(|f| view.render(f.area(), f.buffer_mut()))?;
        print!("{}", buffer_text(terminal.backend().buffer()));
        return Ok(());
    }
    live(view, client, args.failures, interval).await
}

async fn read(
    client: &mut MonitorServiceClient<crate::tls::Client>,
    failures: u8,
) -> Result<pb::GetOverviewResponse, tonic::Status> {
    client
        .get_overview(pb::GetOverviewRequest {
            recent_failures: failures as i32,
        })
        .await
        .map(|r| r.into_inner())
}

/// What the view's loop waits for.
enum Input {
    Quit,
    Redraw,
}

async fn live(
    mut view: View,
    client: MonitorServiceClient<crate::tls::Client>,
    failures: u8,
    interval: Duration,
) -> anyhow::Result<()> {
    // Raw mode and the alternate screen; the panic hook installed here restores the
    // terminal before the panic is reported.
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            return Err(e).context("cannot set up the terminal");
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Input>();
    // Keys are read on a thread of their own (crossterm's reads block).
    std::thread::spawn(move || {
        loop {
            let input = match event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => match k.code {
                    KeyCode::Char('q') | KeyCode::Esc => Input::Quit,
                    KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                        Input::Quit
                    }
                    _ => continue,
                },
                Ok(Event::Resize(..)) => Input::Redraw,
                Ok(_) => continue,
                Err(_) => Input::Quit,
            };
            let quit = matches!(input, Input::Quit);
            if tx.send(input).is_err() || quit {
                return;
            }
        }
    });
    // Readings run beside the loop, so keys are answered while one is slow to come.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let result = async {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        let mut reading = false;
        loop {
            terminal.draw(|f| view.render(f.area(), f.buffer_mut()))?;
            tokio::select! {
                input = rx.recv() => match input {
                    Some(Input::Redraw) => {}
                    Some(Input::Quit) | None => return anyhow::Ok(()),
                },
                _ = ticks.tick(), if !reading => {
                    reading = true;
                    let (mut client, done) = (client.clone(), done_tx.clone());
                    tokio::spawn(async move {
                        let _ = done.send(read(&mut client, failures).await);
                    });
                }
                Some(r) = done_rx.recv() => {
                    reading = false;
                    match r {
                        Ok(o) => view.update(o),
                        Err(e) => view.error = Some(format!("{:?}: {}", e.code(), e.message())),
                    }
                }
            }
        }
    }
    .await;
    ratatui::restore();
    result
}

/// Counters of one reading, to take rates from.
#[derive(Clone, Copy)]
struct Counters {
    at_ms: i64,
    workflows_started: i64,
    workflows_ended: i64,
    tasks_ended: i64,
}

impl Counters {
    fn of(o: &pb::GetOverviewResponse) -> Self {
        Self {
            at_ms: ms(&o.server_time),
            workflows_started: o.workflows_started,
            workflows_ended: o.workflows_ended.iter().map(|c| c.count).sum(),
            tasks_ended: o.tasks_ended.iter().map(|c| c.count).sum(),
        }
    }
}

/// Per-second rates and what they were taken over.
struct Rates {
    workflows_started: f64,
    workflows_ended: f64,
    tasks_ended: f64,
    over: String,
}

/// The state of the view: the latest reading and the one before it.
struct View {
    server: String,
    interval: f64,
    current: Option<pb::GetOverviewResponse>,
    previous: Option<Counters>,
    /// The last failed reading, shown until one succeeds.
    error: Option<String>,
    /// Whether the view runs on a terminal (else it prints one frame).
    live: bool,
}

fn ms(t: &Option<prost_types::Timestamp>) -> i64 {
    t.as_ref()
        .map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
        .unwrap_or(0)
}

impl View {
    fn new(server: String, interval: f64) -> Self {
        Self {
            server,
            interval,
            current: None,
            previous: None,
            error: None,
            live: true,
        }
    }

    fn update(&mut self, o: pb::GetOverviewResponse) {
        self.previous = self.current.as_ref().map(Counters::of);
        // A restarted server counts from zero again: rates start over.
        if let Some(p) = self.previous
            && p.at_ms < ms(&o.start_time)
        {
            self.previous = None;
        }
        self.current = Some(o);
        self.error = None;
    }

    fn rates(&self, o: &pb::GetOverviewResponse) -> Rates {
        let now = Counters::of(o);
        let (base, over) = match self.previous {
            Some(p) if now.at_ms > p.at_ms => (
                p,
                format!("last {}", duration((now.at_ms - p.at_ms) as f64 / 1000.0)),
            ),
            _ => (
                Counters {
                    at_ms: ms(&o.start_time),
                    workflows_started: 0,
                    workflows_ended: 0,
                    tasks_ended: 0,
                },
                "average since start".to_string(),
            ),
        };
        let secs = ((now.at_ms - base.at_ms) as f64 / 1000.0).max(0.001);
        let rate = |a: i64, b: i64| (a - b).max(0) as f64 / secs;
        Rates {
            workflows_started: rate(now.workflows_started, base.workflows_started),
            workflows_ended: rate(now.workflows_ended, base.workflows_ended),
            tasks_ended: rate(now.tasks_ended, base.tasks_ended),
            over,
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer) {
        let Some(o) = &self.current else {
            return;
        };
        let [title, throughput, middle, workers, failures, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(5),
            Constraint::Min(5),
            Constraint::Length(8),
            Constraint::Min(5),
            Constraint::Length(1),
        ])
        .areas(area);
        let [latencies, queues] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(middle);
        let now = ms(&o.server_time);
        self.title(o, now).render_to(title, buf);
        self.throughput(o).render_to(throughput, buf);
        latency_table(o).render_to(latencies, buf);
        queue_table(o).render_to(queues, buf);
        worker_table(o, now).render_to(workers, buf);
        failure_table(o, now).render_to(failures, buf);
        let help = match &self.error {
            Some(e) => Line::from(vec![
                Span::styled("refresh failed: ", Style::new().fg(Color::Red).bold()),
                Span::raw(e.replace('\n', " ")),
            ]),
            None if self.live => Line::from(" q / Esc: quit").dim(),
            None => Line::from(" one reading (rates: average since the server started)").dim(),
        };
        Paragraph::new(help).render_to(footer, buf);
    }

    fn title(&self, o: &pb::GetOverviewResponse, now: i64) -> Paragraph<'static> {
        let up = duration((now - ms(&o.start_time)).max(0) as f64 / 1000.0);
        Paragraph::new(Line::from(vec![
            Span::styled(" baton top ", Style::new().bold().reversed()),
            Span::raw(format!(
                "  {}  up {}  refresh {}",
                self.server,
                up,
                duration(self.interval)
            )),
        ]))
    }

    fn throughput(&self, o: &pb::GetOverviewResponse) -> Paragraph<'static> {
        let r = self.rates(o);
        let c = Counters::of(o);
        let by_status = |v: &[pb::StatusCount]| {
            v.iter()
                .map(|s| format!("{} {}", s.status, s.count))
                .collect::<Vec<_>>()
                .join("  ")
        };
        let line = |name: &str, rate: f64, total: i64, detail: String| {
            Line::from(vec![
                Span::styled(format!("{name:<18}"), Style::new().bold()),
                Span::raw(format!(
                    "{:>10}/s   total {:<10} {}",
                    fmt_rate(rate),
                    total,
                    detail
                )),
            ])
        };
        Paragraph::new(vec![
            line(
                "workflows started",
                r.workflows_started,
                c.workflows_started,
                String::new(),
            ),
            line(
                "workflows ended",
                r.workflows_ended,
                c.workflows_ended,
                by_status(&o.workflows_ended),
            ),
            line(
                "tasks ended",
                r.tasks_ended,
                c.tasks_ended,
                by_status(&o.tasks_ended),
            ),
        ])
        .block(Block::bordered().title(format!(" Throughput ({}) ", r.over)))
    }
}

/// Renders a widget into part of a buffer.
trait RenderTo {
    fn render_to(self, area: Rect, buf: &mut Buffer);
}

impl<W: ratatui::widgets::Widget> RenderTo for W {
    fn render_to(self, area: Rect, buf: &mut Buffer) {
        self.render(area, buf)
    }
}

fn header(cells: &[&'static str]) -> Row<'static> {
    Row::new(cells.iter().map(|c| Cell::from(*c))).style(Style::new().add_modifier(Modifier::BOLD))
}

fn latency_table(o: &pb::GetOverviewResponse) -> Table<'static> {
    let q = |l: &Option<pb::LatencyQuantiles>| match l {
        Some(l) if l.count > 0 => (format!("{}", l.count), fmt_ms(l.p50_ms), fmt_ms(l.p99_ms)),
        _ => ("-".into(), "-".into(), "-".into()),
    };
    let rows = o.latencies.iter().map(|l| {
        let (_, s50, s99) = q(&l.schedule_to_start);
        let (n, e50, e99) = q(&l.start_to_end);
        Row::new(vec![l.task_type.clone(), s50, s99, e50, e99, n])
    });
    Table::new(
        rows,
        [
            Constraint::Min(12),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(7),
        ],
    )
    .header(header(&[
        "task type",
        "wait p50",
        "wait p99",
        "run p50",
        "run p99",
        "ended",
    ]))
    .block(Block::bordered().title(" Task latency, last 1-2 min (wait: ready to start) "))
}

fn queue_table(o: &pb::GetOverviewResponse) -> Table<'static> {
    let rows = o.queues.iter().map(|q| {
        Row::new(vec![
            q.task_type.clone(),
            domain(&q.domain),
            q.depth.to_string(),
            q.subscribers.to_string(),
        ])
    });
    Table::new(
        rows,
        [
            Constraint::Min(12),
            Constraint::Length(10),
            Constraint::Length(7),
            Constraint::Length(7),
        ],
    )
    .header(header(&["task type", "domain", "depth", "streams"]))
    .block(Block::bordered().title(" Queues "))
}

fn worker_table(o: &pb::GetOverviewResponse, now: i64) -> Table<'static> {
    let rows = o.workers.iter().map(|w| {
        let kind = match pb::WorkerKind::try_from(w.kind) {
            Ok(pb::WorkerKind::Stream) => "stream",
            Ok(pb::WorkerKind::Poll) => "poll",
            _ => "?",
        };
        Row::new(vec![
            w.worker_id.clone(),
            kind.to_string(),
            w.task_types.join(","),
            domain(&w.domain),
            w.credits.to_string(),
            w.in_flight.to_string(),
            ago(now, ms(&w.last_seen_time)),
        ])
    });
    Table::new(
        rows,
        [
            Constraint::Min(16),
            Constraint::Length(6),
            Constraint::Min(20),
            Constraint::Length(10),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(10),
        ],
    )
    .header(header(&[
        "worker",
        "kind",
        "task types",
        "domain",
        "credits",
        "in flight",
        "last seen",
    ]))
    .block(Block::bordered().title(format!(" Workers ({}) ", o.workers.len())))
}

fn failure_table(o: &pb::GetOverviewResponse, now: i64) -> Table<'static> {
    let name = |f: &pb::RecentFailure| format!("{} v{}", f.workflow_type, f.version);
    let name_width = o
        .recent_failures
        .iter()
        .map(|f| name(f).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(8, 24) as u16;
    let rows = o.recent_failures.iter().map(|f| {
        let status = Some(crate::cli::workflow_status_name(f.status))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "?".into());
        let ended = match &f.end_time {
            Some(_) => ago(now, ms(&f.end_time)),
            None => "-".into(),
        };
        Row::new(vec![
            Cell::from(f.workflow_id.clone()),
            Cell::from(name(f)),
            Cell::from(status).style(Style::new().fg(Color::Red)),
            Cell::from(ended),
            Cell::from(f.reason.replace('\n', " ")),
        ])
    });
    let title = if o.recent_failures_available {
        " Recent failures ".to_string()
    } else {
        " Recent failures (search index not ready) ".to_string()
    };
    Table::new(
        rows,
        [
            Constraint::Length(36),
            Constraint::Length(name_width),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
    )
    .header(header(&[
        "workflow id",
        "workflow",
        "status",
        "ended",
        "reason",
    ]))
    .block(Block::bordered().title(title))
}

fn domain(d: &str) -> String {
    if d.is_empty() { "-".into() } else { d.into() }
}

fn fmt_rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn fmt_ms(v: i64) -> String {
    if v >= 10_000 {
        format!("{:.0}s", v as f64 / 1000.0)
    } else if v >= 1000 {
        format!("{:.1}s", v as f64 / 1000.0)
    } else {
        format!("{v}ms")
    }
}

/// A length of time, short: `0.2s`, `9.5s`, `12s`, `3m4s`, `2h5m`, `3d4h`.
fn duration(secs: f64) -> String {
    if secs < 9.95 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as i64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    }
}

/// How long before `now` (epoch ms) `then` was, in whole seconds and up.
fn ago(now: i64, then: i64) -> String {
    let secs = (now - then).max(0) / 1000;
    if secs < 10 {
        format!("{secs}s ago")
    } else {
        format!("{} ago", duration(secs as f64))
    }
}

/// The buffer as plain text: one line per row, trailing blanks dropped.
fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_short() {
        assert_eq!(duration(0.5), "0.5s");
        assert_eq!(duration(1.0), "1.0s");
        assert_eq!(duration(12.0), "12s");
        assert_eq!(duration(184.0), "3m4s");
        assert_eq!(duration(7500.0), "2h5m");
    }

    #[test]
    fn interval_is_checked() {
        assert!(parse_interval("0.5").is_ok());
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("x").is_err());
    }

    #[test]
    fn rates_come_from_two_readings() {
        let reading = |at: i64, started: i64| pb::GetOverviewResponse {
            server_time: Some(prost_types::Timestamp {
                seconds: at,
                nanos: 0,
            }),
            start_time: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: 0,
            }),
            workflows_started: started,
            ..Default::default()
        };
        let mut v = View::new("x".into(), 1.0);
        v.update(reading(10, 100));
        let r = v.rates(v.current.as_ref().unwrap());
        assert_eq!(r.workflows_started, 10.0);
        assert_eq!(r.over, "average since start");
        v.update(reading(12, 110));
        let r = v.rates(v.current.as_ref().unwrap());
        assert_eq!(r.workflows_started, 5.0);
        assert_eq!(r.over, "last 2.0s");
    }
}
