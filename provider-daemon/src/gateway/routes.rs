//! One request in, one JSON response out: routing, the tenant checks against the lease on
//! chain, the bounded and hashed manifest body, the calls into the sink and the view.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use akash_chain_client::{ChainError, MarketChain};
use akash_manifest::{GroupManifest, MAX_DOCUMENT_BYTES};
use akash_types::market::{Lease, LeaseState};
use bytes::{Bytes, BytesMut};
use http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tracing::Instrument;

use super::api::{
    codes, ErrorBody, LeaseLogs, PeerPlacement, PeersReceipt, UploadReceipt, DEFAULT_LOG_TAIL,
    MAX_LOG_TAIL,
};
use super::auth::{AuthError, RequestToSign, TenantProof, EMPTY_BODY_SHA256};
use super::tls::verify_provider_chain;
use super::{LeaseView, ManifestSink, ViewError};

/// Prefix of the route serving held manifest documents to participants.
const SHARED_MANIFESTS_PREFIX: &str = "/v1/manifests/";

/// The certificates a client presented in the TLS handshake, leaf first (empty if none).
pub(crate) type ClientChain = Arc<Vec<CertificateDer<'static>>>;

/// A refusal: status, stable code and a sentence naming the value refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub reason: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            reason: reason.into(),
        }
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let body = ErrorBody {
            error: self.code.to_string(),
            reason: self.reason,
        };
        json_response(self.status, &body)
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let (status, code) = match &error {
            AuthError::Missing { .. } => (StatusCode::UNAUTHORIZED, codes::MISSING_SIGNATURE),
            AuthError::Malformed { .. } => (StatusCode::UNAUTHORIZED, codes::MALFORMED_SIGNATURE),
            AuthError::StaleTimestamp { .. } => (StatusCode::UNAUTHORIZED, codes::STALE_TIMESTAMP),
            AuthError::BadSignature { .. } => (StatusCode::UNAUTHORIZED, codes::BAD_SIGNATURE),
            AuthError::NotTenant { .. } => (StatusCode::FORBIDDEN, codes::NOT_TENANT),
            AuthError::InvalidTenant { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, codes::PROVIDER_ERROR)
            }
        };
        ApiError::new(status, code, error.to_string())
    }
}

impl From<ViewError> for ApiError {
    fn from(error: ViewError) -> Self {
        let (status, code) = match &error {
            ViewError::NotDeployed { .. } => (StatusCode::NOT_FOUND, codes::NOT_DEPLOYED),
            ViewError::UnknownService { .. } => (StatusCode::NOT_FOUND, codes::UNKNOWN_SERVICE),
            ViewError::Unavailable(_) => (StatusCode::INTERNAL_SERVER_ERROR, codes::PROVIDER_ERROR),
        };
        ApiError::new(status, code, error.to_string())
    }
}

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response<Full<Bytes>> {
    // Our answer types serialize without error; an empty object is the fallback.
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Manifest,
    Peers,
    Status,
    Logs,
}

impl Route {
    fn method(self) -> Method {
        match self {
            Route::Manifest | Route::Peers => Method::PUT,
            Route::Status | Route::Logs => Method::GET,
        }
    }
}

/// `/v1/leases/{lease_id}/{manifest|peers|status|logs}`.
fn parse_path(path: &str) -> Result<(u64, Route), ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!(
                "no route {path:?}: the gateway serves /v1/leases/{{lease_id}}/manifest, \
                 /peers, /status, /logs and /v1/manifests/{{sha256}}?lease={{lease_id}}"
            ),
        )
    };
    let rest = path.strip_prefix("/v1/leases/").ok_or_else(not_found)?;
    let (lease_id, action) = rest.split_once('/').ok_or_else(not_found)?;
    let route = match action {
        "manifest" => Route::Manifest,
        "status" => Route::Status,
        "logs" => Route::Logs,
        "peers" => Route::Peers,
        _ => return Err(not_found()),
    };
    let lease_id = lease_id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::BAD_REQUEST,
            format!("lease id {lease_id:?} is not an unsigned integer"),
        )
    })?;
    Ok((lease_id, route))
}

/// `service=NAME&tail=N` of the logs route.
fn parse_logs_query(query: Option<&str>) -> Result<(String, usize), ApiError> {
    let bad = |reason: String| ApiError::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, reason);
    let mut service = None;
    let mut tail = DEFAULT_LOG_TAIL;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "service" => service = Some(value.to_string()),
            "tail" => {
                tail = value
                    .parse()
                    .map_err(|_| bad(format!("tail {value:?} is not an unsigned integer")))?;
                if tail > MAX_LOG_TAIL {
                    return Err(bad(format!(
                        "tail {tail} is more than the {MAX_LOG_TAIL} lines one request may ask for"
                    )));
                }
            }
            other => {
                return Err(bad(format!(
                    "unknown query parameter {other:?}: the logs route takes service and tail"
                )))
            }
        }
    }
    let service = service.ok_or_else(|| bad("the query names no service=NAME".to_string()))?;
    if !is_dns_label(&service) {
        return Err(bad(format!(
            "service {service:?} is not a service name (a DNS label: a-z, 0-9, '-')"
        )));
    }
    Ok((service, tail))
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) struct Handler<S, V> {
    chain: Arc<dyn MarketChain>,
    sink: Arc<S>,
    view: Arc<V>,
    request_timeout: Duration,
}

impl<S: ManifestSink, V: LeaseView> Handler<S, V> {
    pub fn new(
        chain: Arc<dyn MarketChain>,
        sink: Arc<S>,
        view: Arc<V>,
        request_timeout: Duration,
    ) -> Self {
        Handler {
            chain,
            sink,
            view,
            request_timeout,
        }
    }

    /// Never fails: every refusal is a JSON response. `client_chain` is what the client
    /// presented in the TLS handshake.
    pub async fn handle<B>(
        &self,
        request: Request<B>,
        client_chain: ClientChain,
    ) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes> + Send + Unpin,
        B::Error: std::fmt::Display,
    {
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let span = tracing::info_span!(
            "gateway",
            %method,
            %path,
            lease_id = tracing::field::Empty
        );
        let timeout = self.request_timeout;
        let answer = tokio::time::timeout(timeout, self.route(request, &client_chain))
            .instrument(span.clone())
            .await;
        let response = match answer {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => error.into_response(),
            Err(_) => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                codes::TIMEOUT,
                format!("the request took longer than {} s", timeout.as_secs_f64()),
            )
            .into_response(),
        };
        span.in_scope(|| tracing::info!(status = response.status().as_u16(), "answered"));
        response
    }

    async fn route<B>(
        &self,
        request: Request<B>,
        client_chain: &[CertificateDer<'static>],
    ) -> Result<Response<Full<Bytes>>, ApiError>
    where
        B: Body<Data = Bytes> + Send + Unpin,
        B::Error: std::fmt::Display,
    {
        if let Some(sha256) = request.uri().path().strip_prefix(SHARED_MANIFESTS_PREFIX) {
            if request.method() != Method::GET {
                return Ok(method_not_allowed(&request, Method::GET));
            }
            let sha256 = sha256.to_string();
            return self.shared_manifest(&sha256, &request, client_chain).await;
        }
        let (lease_id, route) = parse_path(request.uri().path())?;
        tracing::Span::current().record("lease_id", lease_id);
        if request.method() != route.method() {
            return Ok(method_not_allowed(&request, route.method()));
        }
        match route {
            Route::Manifest => self.upload(lease_id, request).await,
            Route::Peers => self.peers(lease_id, request).await,
            Route::Status => {
                let lease = self.authorize_read(lease_id, &request).await?;
                let status = self.view.status(lease).await?;
                Ok(json_response(StatusCode::OK, &status))
            }
            Route::Logs => {
                let (service, tail) = parse_logs_query(request.uri().query())?;
                let lease = self.authorize_read(lease_id, &request).await?;
                let lines = self.view.logs(lease, service.clone(), tail).await?;
                Ok(json_response(
                    StatusCode::OK,
                    &LeaseLogs {
                        lease_id,
                        service,
                        lines,
                    },
                ))
            }
        }
    }

    /// The checks every route makes before looking at a body: signature headers present and
    /// recent, the lease on chain, ours, and the signing key its tenant's.
    async fn authorize(
        &self,
        lease_id: u64,
        headers: &HeaderMap,
    ) -> Result<(Lease, TenantProof), ApiError> {
        let proof = TenantProof::from_headers(headers)?;
        proof.check_timestamp(unix_now())?;
        let lease = self.lease(lease_id).await?;
        if lease.provider.as_str() != self.chain.address() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                codes::NOT_OUR_LEASE,
                format!(
                    "lease {lease_id} belongs to provider {}, not to this provider {}",
                    lease.provider,
                    self.chain.address()
                ),
            ));
        }
        proof.check_tenant(lease.tenant.as_str())?;
        Ok((lease, proof))
    }

    /// [`Self::authorize`] and the signature of a request without body.
    async fn authorize_read<B>(
        &self,
        lease_id: u64,
        request: &Request<B>,
    ) -> Result<Lease, ApiError> {
        let (lease, proof) = self.authorize(lease_id, request.headers()).await?;
        verify_read(&proof, request, lease_id)?;
        Ok(lease)
    }

    /// The checks of a signed upload to an active lease of ours: [`Self::authorize`], the
    /// body at most [`MAX_DOCUMENT_BYTES`], hashed as it is read, and the signature over it.
    /// Returns the lease, the body and its sha256 (hex).
    async fn read_signed_upload<B>(
        &self,
        lease_id: u64,
        request: Request<B>,
    ) -> Result<(Lease, Bytes, String), ApiError>
    where
        B: Body<Data = Bytes> + Send + Unpin,
        B::Error: std::fmt::Display,
    {
        let (lease, proof) = self.authorize(lease_id, request.headers()).await?;
        self.check_active(&lease)?;
        if let Some(length) = content_length(request.headers())? {
            if length > MAX_DOCUMENT_BYTES as u64 {
                return Err(too_large(format!(
                    "Content-Length {length} is more than the manifest limit of \
                     {MAX_DOCUMENT_BYTES} bytes"
                )));
            }
        }
        let target = request_target(&request).to_string();
        let method = request.method().as_str().to_string();
        let (body, sha256_hex) = read_bounded(request.into_body()).await?;
        proof.verify(&RequestToSign {
            method: &method,
            path: &target,
            lease_id,
            body_sha256_hex: &sha256_hex,
        })?;
        Ok((lease, body, sha256_hex))
    }

    async fn lease(&self, lease_id: u64) -> Result<Lease, ApiError> {
        match self.chain.lease(lease_id).await {
            Ok(lease) => Ok(lease),
            Err(ChainError::Contract { message, .. })
                if message.contains(&format!("lease {lease_id} not found")) =>
            {
                Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    codes::UNKNOWN_LEASE,
                    format!("lease {lease_id} does not exist on chain"),
                ))
            }
            Err(error) => {
                tracing::warn!(%error, "querying the lease");
                Err(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    codes::CHAIN_UNAVAILABLE,
                    format!("querying lease {lease_id} on chain failed: {error}"),
                ))
            }
        }
    }

    /// A held document for a participant: the lease named in the query must be active and
    /// carry `sha256`; the requester proves it is that lease's provider (a client certificate
    /// issued by the provider's root on chain) or its tenant (a signed request).
    async fn shared_manifest<B>(
        &self,
        sha256: &str,
        request: &Request<B>,
        client_chain: &[CertificateDer<'static>],
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        if !is_sha256_hex(sha256) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
                format!("{sha256:?} is not a sha256 (64 lowercase hex characters)"),
            ));
        }
        let lease_id = parse_lease_query(request.uri().query())?;
        tracing::Span::current().record("lease_id", lease_id);
        let lease = self.lease(lease_id).await?;
        if lease.manifest_sha256 != sha256 || lease.state != LeaseState::Active {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                codes::NOT_PARTICIPANT,
                format!(
                    "lease {lease_id} ({:?}, manifest {}) is not an active lease carrying \
                     manifest {sha256}",
                    lease.state, lease.manifest_sha256
                ),
            ));
        }
        if client_chain.is_empty() {
            let proof = TenantProof::from_headers(request.headers()).map_err(|error| {
                let mut refusal = ApiError::from(error);
                refusal.reason = format!(
                    "{}; a provider presents a client certificate of its registered root \
                     instead",
                    refusal.reason
                );
                refusal
            })?;
            proof.check_timestamp(unix_now())?;
            proof.check_tenant(lease.tenant.as_str())?;
            verify_read(&proof, request, lease_id)?;
        } else {
            self.check_provider_certificate(&lease, client_chain)
                .await?;
        }
        let document = self.view.manifest_document(sha256).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                codes::MANIFEST_NOT_HELD,
                format!("this provider does not hold manifest {sha256} (yet)"),
            )
        })?;
        let mut response = Response::new(Full::new(Bytes::from(document)));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(response)
    }

    /// The client's chain must be issued, for client authentication, by the root registered
    /// on chain for `lease`'s provider.
    async fn check_provider_certificate(
        &self,
        lease: &Lease,
        client_chain: &[CertificateDer<'static>],
    ) -> Result<(), ApiError> {
        let provider = self
            .chain
            .provider(lease.provider.as_str())
            .await
            .map_err(|error| {
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    codes::CHAIN_UNAVAILABLE,
                    format!(
                        "querying provider {} on chain failed: {error}",
                        lease.provider
                    ),
                )
            })?;
        let refused = |reason: String| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                codes::BAD_CLIENT_CERTIFICATE,
                format!(
                    "the client certificate is not from the root registered for provider {} \
                     (the provider of lease {}): {reason}",
                    lease.provider, lease.id
                ),
            )
        };
        let root = CertificateDer::from_pem_slice(provider.root_certificate_pem.as_bytes())
            .map_err(|e| refused(format!("the registered root does not parse: {e}")))?;
        verify_provider_chain(client_chain, &root).map_err(refused)
    }

    /// Where the peers of the lease's group run: signed by the tenant, every peer lease an
    /// active lease of the same tenant; then handed to the sink.
    async fn peers<B>(
        &self,
        lease_id: u64,
        request: Request<B>,
    ) -> Result<Response<Full<Bytes>>, ApiError>
    where
        B: Body<Data = Bytes> + Send + Unpin,
        B::Error: std::fmt::Display,
    {
        let (lease, body, _) = self.read_signed_upload(lease_id, request).await?;
        let placement: PeerPlacement = serde_json::from_slice(&body).map_err(|error| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::BAD_REQUEST,
                format!("the body is not a peer placement: {error}"),
            )
        })?;
        for (service, peer_lease_id) in &placement.peers {
            let peer = self.lease(*peer_lease_id).await?;
            if peer.tenant != lease.tenant || peer.state != LeaseState::Active {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    codes::INVALID_PEER,
                    format!(
                        "peer {service:?} is placed on lease {peer_lease_id}, which is not an \
                         active lease of tenant {} ({:?} of {})",
                        lease.tenant, peer.state, peer.tenant
                    ),
                ));
            }
        }
        let peers = placement.peers.len();
        let sink = Arc::clone(&self.sink);
        if let Err(reason) =
            in_own_task(async move { sink.accept_peers(lease, placement).await }).await
        {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::PROVIDER_ERROR,
                format!("the provider could not take the peers of lease {lease_id}: {reason}"),
            ));
        }
        Ok(json_response(
            StatusCode::OK,
            &PeersReceipt { lease_id, peers },
        ))
    }

    fn check_active(&self, lease: &Lease) -> Result<(), ApiError> {
        if lease.state == LeaseState::Active {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::CONFLICT,
            codes::LEASE_NOT_ACTIVE,
            format!(
                "lease {} is {:?}, not active: it takes no more uploads",
                lease.id, lease.state
            ),
        ))
    }

    async fn upload<B>(
        &self,
        lease_id: u64,
        request: Request<B>,
    ) -> Result<Response<Full<Bytes>>, ApiError>
    where
        B: Body<Data = Bytes> + Send + Unpin,
        B::Error: std::fmt::Display,
    {
        let (lease, document, sha256_hex) = self.read_signed_upload(lease_id, request).await?;
        if sha256_hex != lease.manifest_sha256 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                codes::MANIFEST_HASH_MISMATCH,
                format!(
                    "the document's sha256 is {sha256_hex}, lease {lease_id} carries {}",
                    lease.manifest_sha256
                ),
            ));
        }
        let manifest = GroupManifest::from_document_bytes(&document).map_err(|error| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::INVALID_MANIFEST,
                error.to_string(),
            )
        })?;
        let sink = Arc::clone(&self.sink);
        if let Err(reason) = in_own_task(async move { sink.accept(lease, manifest).await }).await {
            tracing::warn!(%reason, "the manifest sink refused the manifest");
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::PROVIDER_ERROR,
                format!("the provider could not deploy lease {lease_id}: {reason}"),
            ));
        }
        tracing::info!(%sha256_hex, "manifest accepted");
        Ok(json_response(
            StatusCode::OK,
            &UploadReceipt {
                lease_id,
                manifest_sha256: sha256_hex,
            },
        ))
    }
}

/// Runs a sink call in its own task: a timed-out request must not cancel a deployment (or a
/// placement) half-way.
async fn in_own_task<F>(call: F) -> Result<(), String>
where
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    tokio::spawn(call)
        .await
        .unwrap_or_else(|e| Err(format!("the manifest sink failed: {e}")))
}

/// The tenant's signature over a request without body.
fn verify_read<B>(
    proof: &TenantProof,
    request: &Request<B>,
    lease_id: u64,
) -> Result<(), ApiError> {
    proof.verify(&RequestToSign {
        method: request.method().as_str(),
        path: request_target(request),
        lease_id,
        body_sha256_hex: EMPTY_BODY_SHA256,
    })?;
    Ok(())
}

/// 405 naming the method the route serves, with its `Allow` header.
fn method_not_allowed<B>(request: &Request<B>, allowed: Method) -> Response<Full<Bytes>> {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::METHOD_NOT_ALLOWED,
        format!(
            "{} is not served on {}: use {allowed}",
            request.method(),
            request.uri().path(),
        ),
    )
    .into_response();
    let allow = match allowed {
        Method::PUT => "PUT",
        _ => "GET",
    };
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// `lease=N` of the shared manifest route.
fn parse_lease_query(query: Option<&str>) -> Result<u64, ApiError> {
    let bad = |reason: String| ApiError::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, reason);
    let mut lease = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "lease" => {
                lease = Some(
                    value
                        .parse()
                        .map_err(|_| bad(format!("lease {value:?} is not an unsigned integer")))?,
                )
            }
            other => {
                return Err(bad(format!(
                    "unknown query parameter {other:?}: the manifests route takes lease"
                )))
            }
        }
    }
    lease.ok_or_else(|| bad("the query names no lease=ID".to_string()))
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Path and query as the client sent them: what the signature covers.
fn request_target<B>(request: &Request<B>) -> &str {
    request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path(), |target| target.as_str())
}

fn too_large(reason: String) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, codes::TOO_LARGE, reason)
}

fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(CONTENT_LENGTH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
                format!("Content-Length {value:?} is not a number"),
            )
        })
}

/// Reads at most [`MAX_DOCUMENT_BYTES`], hashing as it goes; stops reading as soon as the
/// body is larger. Returns the bytes and their lowercase hex sha256.
async fn read_bounded<B>(mut body: B) -> Result<(Bytes, String), ApiError>
where
    B: Body<Data = Bytes> + Send + Unpin,
    B::Error: std::fmt::Display,
{
    let mut hasher = Sha256::new();
    let mut document = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
                format!(
                    "reading the body failed after {} bytes: {e}",
                    document.len()
                ),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if document.len() + data.len() > MAX_DOCUMENT_BYTES {
            return Err(too_large(format!(
                "the body is more than the manifest limit of {MAX_DOCUMENT_BYTES} bytes \
                 (read stopped at {} bytes)",
                document.len() + data.len()
            )));
        }
        hasher.update(&data);
        document.extend_from_slice(&data);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((document.freeze(), hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_to_routes_or_name_what_is_wrong() {
        assert_eq!(
            parse_path("/v1/leases/12/manifest").unwrap(),
            (12, Route::Manifest)
        );
        assert_eq!(parse_path("/v1/leases/0/logs").unwrap(), (0, Route::Logs));
        let error = parse_path("/v1/leases/x/status").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(error.reason.contains("\"x\""), "{}", error.reason);
        assert_eq!(
            parse_path("/v1/leases/1/other").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(parse_path("/").unwrap_err().code, codes::NOT_FOUND);
    }

    #[test]
    fn logs_query_needs_a_service_and_bounds_tail() {
        assert_eq!(
            parse_logs_query(Some("service=web&tail=5")).unwrap(),
            ("web".to_string(), 5)
        );
        assert_eq!(
            parse_logs_query(Some("service=web")).unwrap(),
            ("web".to_string(), DEFAULT_LOG_TAIL)
        );
        for bad in [
            None,
            Some("tail=5"),
            Some("service=Web"),
            Some("service=web&tail=-1"),
            Some("service=web&tail=10001"),
            Some("service=web&follow=1"),
        ] {
            let error = parse_logs_query(bad).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }
}
