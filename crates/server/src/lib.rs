//! The `tacker-server` binary's library half: oslo.config-style configuration
//! (`tacker.conf`), PasteDeploy pipelines (`api-paste.ini`), the oslo.middleware filters, the
//! root / extensions / SOL013 apps and the HTTP(S) listener. Stands in for Tacker's
//! `tacker-server` (`tacker/cmd/eventlet/tacker_server.py`, `tacker/wsgi.py`).

pub mod listener;
pub mod sol;
