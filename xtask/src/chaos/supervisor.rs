//! The readers of a scenario as a supervisor sees them: slots ("pods") restarted when their
//! reader exits, killed with SIGKILL, stopped with SIGTERM, asked for readiness.

use super::SHUTDOWN_GRACE;
use super::run::ScenarioRun;
use crate::stack::Reader;
use anyhow::{Context, Result, bail};
use std::time::{Duration, Instant};
use testkit::reader::peak_rss_kib;

/// One supervised reader "pod": restarted when it exits (unless stopped on purpose).
pub(super) struct Slot {
    pub(super) name: String,
    pub(super) reader: Option<Reader>,
    pub(super) runs: u32,
    /// Restarts after an exit of its own (crash loop), not after a kill by the harness.
    pub(super) crash_restarts: u32,
    pub(super) kill_restarts: u32,
    pub(super) nonzero_exits: Vec<String>,
    restart_at: Option<Instant>,
    backoff: Duration,
    started_at: Instant,
    pub(super) supervise: bool,
}

impl ScenarioRun<'_> {
    /// Starts (or restarts) the reader of slot `i`.
    pub(super) fn launch(&mut self, i: usize) -> Result<()> {
        let settings = self.settings();
        let Some(slot) = self.slots.get_mut(i) else {
            bail!("no reader slot {i}");
        };
        slot.runs += 1;
        let name = format!("s{}-{}-run{}", self.number, slot.name, slot.runs);
        let reader = Reader::start(
            &self.env.bin_dir,
            "jira",
            &name,
            &settings,
            &self.env.log_dir,
        )?;
        self.logs.add(reader.log.clone());
        slot.reader = Some(reader);
        slot.restart_at = None;
        slot.started_at = Instant::now();
        Ok(())
    }

    /// Adds a supervised slot named `name` and starts its reader; returns the slot.
    pub(super) fn add_reader(&mut self, name: &str) -> Result<usize> {
        self.slots.push(Slot {
            name: name.to_owned(),
            reader: None,
            runs: 0,
            crash_restarts: 0,
            kill_restarts: 0,
            nonzero_exits: Vec::new(),
            restart_at: None,
            backoff: Duration::from_secs(1),
            started_at: Instant::now(),
            supervise: true,
        });
        let i = self.slots.len() - 1;
        self.launch(i)?;
        Ok(i)
    }

    /// Restarts after an exit of the readers' own, over every slot.
    pub(super) fn crash_restarts(&self) -> u32 {
        self.slots.iter().map(|s| s.crash_restarts).sum()
    }

    /// Supervisor tick: restarts exited readers (crash loop with back-off), samples RSS.
    pub(super) fn supervise(&mut self) -> Result<()> {
        let mut to_launch = Vec::new();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(reader) = slot.reader.as_mut() {
                if let Some(kib) = peak_rss_kib(reader.pid()) {
                    self.peak_rss_kib = self.peak_rss_kib.max(kib);
                }
                if let Some(status) = reader.exit_status() {
                    let log = reader.log.display().to_string();
                    slot.reader = None;
                    if !status.success() {
                        slot.nonzero_exits.push(format!("{status} ({log})"));
                    }
                    if slot.supervise {
                        if slot.started_at.elapsed() > Duration::from_secs(60) {
                            slot.backoff = Duration::from_secs(1);
                        }
                        slot.restart_at = Some(Instant::now() + slot.backoff);
                        slot.backoff = (slot.backoff * 2).min(Duration::from_secs(8));
                        slot.crash_restarts += 1;
                    }
                }
            }
            if slot.reader.is_none() && slot.restart_at.is_some_and(|t| Instant::now() >= t) {
                to_launch.push(i);
            }
        }
        for i in to_launch {
            self.launch(i)?;
        }
        Ok(())
    }

    /// Kills slot `i` with SIGKILL, checks the committed offsets against what is visible,
    /// and restarts it.
    pub(super) async fn kill_and_restart(&mut self, i: usize) -> Result<()> {
        if let Some(reader) = self.slots.get_mut(i).and_then(|s| s.reader.as_mut()) {
            if let Some(kib) = peak_rss_kib(reader.pid()) {
                self.peak_rss_kib = self.peak_rss_kib.max(kib);
            }
            reader.kill()?;
        }
        self.kills += 1;
        if let Some(slot) = self.slots.get_mut(i) {
            slot.reader = None;
            slot.kill_restarts += 1;
        }
        self.check_committed_not_past_unfinished().await?;
        self.healed();
        self.launch(i)
    }

    /// Waits until the reader of slot `i` answers `/readiness` 200 (at most 60 s).
    pub(super) async fn wait_ready(&mut self, i: usize) -> Result<()> {
        let t0 = Instant::now();
        loop {
            self.supervise()?;
            let slot = self.slots.get(i).context("no such reader slot")?;
            if slot.reader.as_ref().is_some_and(Reader::ready) {
                return Ok(());
            }
            if t0.elapsed() > Duration::from_secs(60) {
                bail!("reader {} was not ready within 60 s", slot.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Notes the first slot's readiness, `t0.elapsed()` seconds into the fault.
    pub(super) fn sample_readiness(&mut self, t0: Instant) {
        if let Some(r) = self.slots.first().and_then(|s| s.reader.as_ref()) {
            self.readiness.push((t0.elapsed().as_secs_f64(), r.ready()));
        }
    }

    /// SIGTERM to slot `i` (a reader leaving the group): exit 0 within the grace period.
    pub(super) fn sigterm(&mut self, i: usize) -> Result<()> {
        let Some(slot) = self.slots.get_mut(i) else {
            bail!("no reader slot {i}");
        };
        slot.supervise = false;
        slot.restart_at = None;
        if let Some(mut reader) = slot.reader.take() {
            if let Some(kib) = peak_rss_kib(reader.pid()) {
                self.peak_rss_kib = self.peak_rss_kib.max(kib);
            }
            self.sigterms += 1;
            let started = Instant::now();
            match reader.terminate(SHUTDOWN_GRACE) {
                Ok(status) if status.success() => {}
                Ok(status) => self.violations.push(format!(
                    "{} exited {status} on SIGTERM (log: {})",
                    reader.name,
                    reader.log.display()
                )),
                Err(e) => self.violations.push(format!("{e:#}")),
            }
            self.notes.push(format!(
                "{} stopped by SIGTERM in {:.1} s",
                reader.name,
                started.elapsed().as_secs_f64()
            ));
        }
        Ok(())
    }
}
