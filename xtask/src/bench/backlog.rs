//! Run (5): the peak RSS (`VmHWM`) of the reader draining a backlog of `--backlog`
//! filter-path events produced before it starts.

use super::Bench;
use super::events::Template;
use super::reader::ReaderRun;
use anyhow::Result;

impl Bench<'_> {
    /// Produces the backlog on a fresh topic, then lets a reader drain it.
    pub(super) async fn backlog_run(&self, template: &Template) -> Result<ReaderRun> {
        let (topic, produced) = self
            .produce_filter_events("backlog", self.args.backlog, template)
            .await?;
        println!(
            "bench: produced a backlog of {} events in {:.1} s",
            produced.count, produced.seconds
        );
        self.reader_run("backlog", &topic, &produced, &[]).await
    }
}
