//! Logging as oslo.log sets it up from `[DEFAULT]` (`oslo_log/log.py`
//! `_setup_logging_from_conf`): `debug` picks DEBUG or INFO; `log_file` (joined to `log_dir`,
//! or `tacker-server.log` in `log_dir` alone) is a file handler; `use_stderr` adds standard
//! error; `use_json` writes oslo's `JSONFormatter` shape, one object a line.
//!
//! Every line written while a request is served carries the `request_id` and
//! `global_request_id` of the span `RequestIdLayer` opens (oslo's context in the
//! `logging_context_format_string`); lines outside a request show `[-]` (oslo's
//! `logging_default_format_string`).
//!
//! The file is reopened when it was moved or removed, checked before every line, as oslo.log's
//! default `logging.handlers.WatchedFileHandler` does: logrotate's `create` and `copytruncate`
//! both work without a signal. `watch_log_file` (oslo's inotify handler, same effect) is
//! accepted and behaves the same.
//!
//! Colour (the level name, as oslo's `ColorHandler`) only on standard error when it is a
//! terminal and `NO_COLOR` is unset; a file never gets escape codes. `RUST_LOG` overrides the
//! level filter.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::ConfiguredPath;

/// The oslo.log options of `[DEFAULT]` this server reads (`oslo_log/_options.py`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoggingOptions {
    /// `log_file` (path, default unset): the file to log to.
    pub log_file: Option<ConfiguredPath>,
    /// `log_dir` (path, default unset): the directory `log_file` is relative to; alone, the
    /// file is `tacker-server.log` in it.
    pub log_dir: Option<ConfiguredPath>,
    /// `use_stderr` (bool, default false): also log to standard error when logging to a file.
    pub use_stderr: bool,
    /// `use_json` (bool, default false): one JSON object a line.
    pub use_json: bool,
    /// `watch_log_file` (bool, default false): accepted; the file is always reopened when it
    /// is moved or removed (see the module documentation).
    pub watch_log_file: bool,
}

impl LoggingOptions {
    /// oslo.log `_get_log_file_path`, with the option it came from for error messages.
    pub fn log_path(&self) -> Option<(PathBuf, &str)> {
        match (&self.log_file, &self.log_dir) {
            (Some(f), None) => Some((f.path.clone(), &f.at)),
            (Some(f), Some(d)) => Some((d.path.join(&f.path), &f.at)),
            (None, Some(d)) => Some((d.path.join("tacker-server.log"), &d.at)),
            (None, None) => None,
        }
    }
}

/// Logging cannot be set up: the log file cannot be opened.
#[derive(Debug, thiserror::Error)]
#[error("{at}: cannot open the log file {path}: {source}")]
pub struct LoggingError {
    at: String,
    path: String,
    source: std::io::Error,
}

/// Library targets kept at INFO when `debug = True` (oslo.log's `default_log_levels` keeps
/// the HTTP and TLS libraries quiet the same way).
const QUIET_AT_DEBUG: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "rustls",
    "tokio_util",
    "reqwest",
    "tower",
    "mio",
];

/// Install the global subscriber for `debug` and `options`.
pub fn init(debug: bool, options: &LoggingOptions) -> Result<(), LoggingError> {
    let layer = OsloLayer::new(options)?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        if debug {
            let mut spec = "debug".to_owned();
            for target in QUIET_AT_DEBUG {
                let _ = write!(spec, ",{target}=info");
            }
            EnvFilter::new(spec)
        } else {
            EnvFilter::new("info")
        }
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(layer)
        .init();
    Ok(())
}

/// A log file reopened when the path no longer names the file that is open.
struct WatchedFile {
    path: PathBuf,
    open: Mutex<Option<(File, (u64, u64))>>,
}

impl WatchedFile {
    fn open(path: &Path) -> std::io::Result<(File, (u64, u64))> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let meta = file.metadata()?;
        Ok((file, (meta.dev(), meta.ino())))
    }

    fn write_line(&self, line: &[u8]) {
        let mut guard = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let current = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        let stale = match (&*guard, current) {
            (Some((_, open)), Some(now)) => *open != now,
            _ => true,
        };
        if stale {
            // On failure the previous file (if any) keeps receiving lines.
            if let Ok(reopened) = Self::open(&self.path) {
                *guard = Some(reopened);
            }
        }
        if let Some((file, _)) = guard.as_mut() {
            let _ = file.write_all(line);
        }
    }
}

enum Sink {
    Stderr { color: bool },
    File(WatchedFile),
}

/// The one formatting layer: oslo's context format or its JSON formatter.
struct OsloLayer {
    sinks: Vec<Sink>,
    json: bool,
    pid: u32,
}

impl OsloLayer {
    fn new(options: &LoggingOptions) -> Result<Self, LoggingError> {
        let mut sinks = Vec::new();
        let path = options.log_path();
        if let Some((path, at)) = &path {
            let opened = WatchedFile::open(path).map_err(|source| LoggingError {
                at: (*at).to_owned(),
                path: path.display().to_string(),
                source,
            })?;
            sinks.push(Sink::File(WatchedFile {
                path: path.clone(),
                open: Mutex::new(Some(opened)),
            }));
        }
        // oslo falls back to standard output when nothing else is configured; this server
        // keeps standard error (api-ref/compat.md).
        if options.use_stderr || path.is_none() {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            sinks.push(Sink::Stderr { color });
        }
        Ok(Self {
            sinks,
            json: options.use_json,
            pid: std::process::id(),
        })
    }
}

/// The request ids of a span, kept in its extensions.
#[derive(Clone, Debug, Default)]
struct RequestIds {
    request_id: Option<String>,
    global_request_id: Option<String>,
}

impl Visit for RequestIds {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.set(field, format!("{value:?}"));
    }
}

impl RequestIds {
    fn set(&mut self, field: &Field, value: String) {
        // `-` is how RequestIdLayer writes "no global id".
        match field.name() {
            "request_id" => self.request_id = Some(value),
            "global_request_id" if value != "-" => self.global_request_id = Some(value),
            _ => {}
        }
    }
}

/// The message and the other fields of one event.
#[derive(Default)]
struct EventFields {
    message: String,
    extra: Vec<(&'static str, String)>,
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.extra.push((field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.extra.push((field.name(), format!("{value:?}")));
        }
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// oslo.log `ColorHandler.LEVEL_COLORS`.
fn level_color(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "\x1b[01;31m",
        Level::WARN => "\x1b[01;33m",
        Level::INFO => "\x1b[00;36m",
        Level::DEBUG | Level::TRACE => "\x1b[00;32m",
    }
}

impl<S> Layer<S> for OsloLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut ids = RequestIds::default();
        attrs.record(&mut ids);
        if ids.request_id.is_some() {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(ids);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let ids = ctx
            .event_scope(event)
            .and_then(|scope| {
                scope
                    .into_iter()
                    .find_map(|span| span.extensions().get::<RequestIds>().cloned())
            })
            .unwrap_or_default();
        let mut fields = EventFields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let now = chrono::Local::now();

        if self.json {
            let mut extra = serde_json::Map::new();
            for (k, v) in &fields.extra {
                extra.insert((*k).to_owned(), serde_json::Value::String(v.clone()));
            }
            let line = serde_json::json!({
                "time": now.to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
                "level": level_name(meta.level()),
                "logger": meta.target(),
                "message": fields.message,
                "request_id": ids.request_id,
                "global_request_id": ids.global_request_id,
                "process": self.pid,
                "extra": extra,
            });
            let mut text = line.to_string();
            text.push('\n');
            for sink in &self.sinks {
                write_to(sink, text.as_bytes());
            }
            return;
        }

        // `%Y-%m-%d %H:%M:%S.mmm pid LEVEL target [global local] message k=v`, written
        // once per colouring into one buffer.
        let level = level_name(meta.level());
        let target = meta.target();
        let line = |color: Option<&str>| {
            use chrono::{Datelike, Timelike};
            let mut line = String::with_capacity(96 + fields.message.len());
            let _ = write!(
                line,
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} {} ",
                now.year(),
                now.month(),
                now.day(),
                now.hour(),
                now.minute(),
                now.second(),
                // A leap second's extra nanoseconds are shown as 999 (as `%.3f` cannot).
                (now.nanosecond() / 1_000_000).min(999),
                self.pid
            );
            match color {
                Some(c) => {
                    line.push_str(c);
                    line.push_str(level);
                    line.push_str("\x1b[00m ");
                }
                None => {
                    line.push_str(level);
                    line.push(' ');
                }
            }
            line.push_str(target);
            match (&ids.request_id, &ids.global_request_id) {
                (Some(local), Some(global)) => {
                    let _ = write!(line, " [{global} {local}] ");
                }
                (Some(local), None) => {
                    let _ = write!(line, " [- {local}] ");
                }
                _ => line.push_str(" [-] "),
            }
            line.push_str(&fields.message);
            for (k, v) in &fields.extra {
                let _ = write!(line, " {k}={v}");
            }
            line.push('\n');
            line
        };
        let mut plain: Option<String> = None;
        for sink in &self.sinks {
            if matches!(sink, Sink::Stderr { color: true }) {
                write_to(sink, line(Some(level_color(meta.level()))).as_bytes());
            } else {
                let text = plain.get_or_insert_with(|| line(None));
                write_to(sink, text.as_bytes());
            }
        }
    }
}

fn write_to(sink: &Sink, line: &[u8]) {
    match sink {
        Sink::Stderr { .. } => {
            let _ = std::io::stderr().lock().write_all(line);
        }
        Sink::File(file) => file.write_line(line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &Path) -> ConfiguredPath {
        ConfiguredPath::new("log_file", path)
    }

    #[test]
    fn log_path_as_oslo_log() {
        let mut o = LoggingOptions::default();
        assert!(o.log_path().is_none());
        o.log_dir = Some(at(Path::new("/var/log/tacker")));
        assert_eq!(
            o.log_path().unwrap().0,
            Path::new("/var/log/tacker/tacker-server.log")
        );
        o.log_file = Some(at(Path::new("api.log")));
        assert_eq!(
            o.log_path().unwrap().0,
            Path::new("/var/log/tacker/api.log")
        );
        o.log_dir = None;
        assert_eq!(o.log_path().unwrap().0, Path::new("api.log"));
    }

    #[test]
    fn a_moved_or_removed_file_is_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        let file = WatchedFile {
            open: Mutex::new(Some(WatchedFile::open(&path).unwrap())),
            path: path.clone(),
        };
        file.write_line(b"one\n");
        std::fs::rename(&path, dir.path().join("t.log.1")).unwrap();
        file.write_line(b"two\n");
        std::fs::remove_file(&path).unwrap();
        file.write_line(b"three\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("t.log.1")).unwrap(),
            "one\n"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
    }
}
