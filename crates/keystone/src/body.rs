//! Reading answers of peers that a client of this service chose (a VIM's Keystone, Kubernetes
//! API or OIDC token endpoint) with a size limit: the body is read chunk by chunk and reading
//! stops at the limit, so an endless or huge answer costs at most the limit in memory.

use reqwest::Response;

/// The most any answer of a VIM endpoint may carry (a Keystone token with its catalog, a
/// namespace list): far above what real ones send, small enough for memory not to matter.
pub const BODY_LIMIT: usize = 4 << 20;

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The answer declared or sent more than the limit; nothing more was read.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The connection failed while reading.
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// The whole body when it is at most `limit` bytes; a declared `Content-Length` over the
/// limit is refused before anything is read.
pub async fn read_body(mut resp: Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// At most the first `limit` bytes of the body, for a debug log line; the rest is never read
/// (the connection is dropped with the response).
pub async fn body_prefix(mut resp: Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(limit);
    body
}
