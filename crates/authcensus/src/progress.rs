//! The crawl's progress bar on stderr (indicatif), hidden when stderr is not
//! a terminal or when asked. The total is unknown while the input streams,
//! so the bar is a spinner with counts and the rate.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use authcensus_crawl::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A running progress display; [`CrawlBar::finish`] clears it.
pub struct CrawlBar {
    bar: ProgressBar,
    ticker: Option<std::thread::JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl CrawlBar {
    /// Starts polling `progress` every 200 ms (draws only on a terminal).
    pub fn start(progress: Arc<Progress>, enabled: bool) -> Self {
        let target = if enabled {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} {pos} domains ({per_sec}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ticker = if bar.is_hidden() {
            None
        } else {
            let bar = bar.clone();
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("authcensus-progress".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        bar.set_position(progress.done.load(Ordering::Relaxed));
                        bar.set_message(format!(
                            "ok {} · nxdomain {} · error {} · skipped {} · written {}",
                            progress.ok.load(Ordering::Relaxed),
                            progress.nxdomain.load(Ordering::Relaxed),
                            progress.error.load(Ordering::Relaxed),
                            progress.skipped.load(Ordering::Relaxed),
                            progress.rows_written.load(Ordering::Relaxed),
                        ));
                        bar.tick();
                        std::thread::sleep(Duration::from_millis(200));
                    }
                })
                .ok()
        };
        CrawlBar { bar, ticker, stop }
    }

    /// Stops and clears the bar.
    pub fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker {
            let _ = t.join();
        }
        self.bar.finish_and_clear();
    }
}
