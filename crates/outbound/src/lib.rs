//! Calls this service makes on its own behalf: the client-credentials token source that
//! stands in for Tacker's `ExtOAuth2Auth` (`[ext_oauth2_auth] use_ext_oauth2_auth`), and the
//! Barbican key manager and Keystone clients that use it.
