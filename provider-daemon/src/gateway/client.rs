//! The tenant's side of the gateway: HTTPS to the provider's registered host, trusting only
//! the provider's registered root certificate, every request signed with the tenant's key.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use akash_manifest::MAX_DOCUMENT_BYTES;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Body;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use k256::ecdsa::SigningKey;
use serde::de::DeserializeOwned;
use thiserror::Error;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, CertificateError};
use tokio_rustls::TlsConnector;

use super::api::{
    self, ErrorBody, LeaseLogs, LeaseStatus, PeerPlacement, PeersReceipt, UploadReceipt,
};
use super::auth::{sign_request, RequestToSign, EMPTY_BODY_SHA256};
use super::tls::client_config_as;
use crate::identity::IssuedCertificate;

/// Default limit for connecting, the TLS handshake and one whole exchange.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body read (logs are the largest answers).
pub const MAX_RESPONSE_BYTES: usize = 32 << 20;
const HTTPS_PORT: u16 = 443;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("host URI {uri:?}: {reason}")]
    InvalidHostUri { uri: String, reason: String },
    #[error("the provider's root certificate: {0}")]
    InvalidRootCertificate(String),
    #[error("the manifest document is {len} bytes, more than the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("connecting to {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// The server's certificate is not issued by the provider's registered root, or not for
    /// this host: whoever answered is not that provider.
    #[error("{host} is not authenticated by the provider's root certificate: {reason}")]
    UntrustedServer { host: String, reason: String },
    #[error("TLS with {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("HTTP: {0}")]
    Http(String),
    /// The answer's body is longer than the client reads for this request.
    #[error("the answer is more than {max} bytes")]
    ResponseTooLarge { max: usize },
    #[error("no answer within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// The gateway refused the request; `error` and `reason` are its own.
    #[error("the provider refused ({status} {error}): {reason}")]
    Refused {
        status: u16,
        error: String,
        reason: String,
    },
    #[error("unexpected answer ({status}): {reason}")]
    UnexpectedResponse { status: u16, reason: String },
}

/// A response as read: status and the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub status: StatusCode,
    pub body: Bytes,
}

impl RawResponse {
    /// The refusal body, if the response is one.
    pub fn error_body(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A client of one provider's gateway.
#[derive(Clone)]
pub struct GatewayClient {
    /// `host:port` as in the `Host` header.
    authority: String,
    /// Host to connect to (no IPv6 brackets) and its port.
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    connector: TlsConnector,
    timeout: Duration,
}

impl std::fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayClient")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl GatewayClient {
    /// A client of the gateway at `host_uri` (`https://host[:port]`, as registered on chain)
    /// that trusts only `root_certificate_pem` (the root registered with it).
    pub fn new(host_uri: &str, root_certificate_pem: &str) -> Result<Self, ClientError> {
        Self::new_as(host_uri, root_certificate_pem, None)
    }

    /// [`GatewayClient::new`] presenting `client_certificate` in the handshake: how a
    /// provider proves itself to another provider's gateway.
    pub fn new_as(
        host_uri: &str,
        root_certificate_pem: &str,
        client_certificate: Option<&IssuedCertificate>,
    ) -> Result<Self, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidHostUri {
            uri: host_uri.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = host_uri
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
        if uri.scheme_str() != Some("https") {
            return Err(invalid("the gateway is reached over https only"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(invalid("a gateway URI has no path or query"));
        }
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(HTTPS_PORT);
        let server_name = ServerName::try_from(host.clone())
            .map_err(|e| invalid(&format!("host {host:?}: {e}")))?;
        let tls = client_config_as(root_certificate_pem, client_certificate)
            .map_err(|e| ClientError::InvalidRootCertificate(e.to_string()))?;
        Ok(GatewayClient {
            authority: authority.as_str().to_string(),
            host,
            port,
            server_name,
            connector: TlsConnector::from(Arc::new(tls)),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Replaces [`DEFAULT_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Uploads `document` (the exact bytes whose sha256 is on the lease) signed by `key`.
    pub async fn upload_manifest(
        &self,
        lease_id: u64,
        document: &[u8],
        key: &SigningKey,
    ) -> Result<UploadReceipt, ClientError> {
        if document.len() > MAX_DOCUMENT_BYTES {
            return Err(ClientError::TooLarge {
                len: document.len(),
                max: MAX_DOCUMENT_BYTES,
            });
        }
        let path = api::manifest_path(lease_id);
        let body_sha256_hex = akash_manifest::sha256_hex(document);
        let request = RequestToSign {
            method: Method::PUT.as_str(),
            path: &path,
            lease_id,
            body_sha256_hex: &body_sha256_hex,
        };
        let request = self
            .signed(Method::PUT, &path, &request, key)?
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(Bytes::copy_from_slice(document)))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        decode(self.send(request).await?)
    }

    /// Tells the provider where the peers of the lease's group run.
    pub async fn put_peers(
        &self,
        lease_id: u64,
        placement: &PeerPlacement,
        key: &SigningKey,
    ) -> Result<PeersReceipt, ClientError> {
        let body = serde_json::to_vec(placement).map_err(|e| ClientError::Http(e.to_string()))?;
        let path = api::peers_path(lease_id);
        let body_sha256_hex = akash_manifest::sha256_hex(&body);
        let to_sign = RequestToSign {
            method: Method::PUT.as_str(),
            path: &path,
            lease_id,
            body_sha256_hex: &body_sha256_hex,
        };
        let request = self
            .signed(Method::PUT, &path, &to_sign, key)?
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        decode(self.send(request).await?)
    }

    pub async fn status(
        &self,
        lease_id: u64,
        key: &SigningKey,
    ) -> Result<LeaseStatus, ClientError> {
        self.get(lease_id, &api::status_path(lease_id), key).await
    }

    /// The last `tail` lines of each instance of `service`.
    pub async fn logs(
        &self,
        lease_id: u64,
        service: &str,
        tail: usize,
        key: &SigningKey,
    ) -> Result<LeaseLogs, ClientError> {
        self.get(lease_id, &api::logs_path(lease_id, service, tail), key)
            .await
    }

    /// The document `sha256` as this gateway serves it to another participant: `lease_id` is
    /// the requester's own lease carrying that hash, proven by the client certificate this
    /// client was made with ([`GatewayClient::new_as`]). The bytes are returned as received,
    /// at most [`MAX_DOCUMENT_BYTES`]: the caller checks them against the chain.
    pub async fn fetch_shared_manifest(
        &self,
        sha256: &str,
        lease_id: u64,
    ) -> Result<Bytes, ClientError> {
        let path = api::shared_manifest_path(sha256, lease_id);
        let request = self
            .request(Method::GET, &path)?
            .body(Full::new(Bytes::new()))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        self.fetch_document(request).await
    }

    /// The document `sha256` for its tenant, who signs with `key` and names one of its
    /// leases carrying that hash.
    pub async fn fetch_manifest_as_tenant(
        &self,
        sha256: &str,
        lease_id: u64,
        key: &SigningKey,
    ) -> Result<Bytes, ClientError> {
        let path = api::shared_manifest_path(sha256, lease_id);
        let to_sign = RequestToSign {
            method: Method::GET.as_str(),
            path: &path,
            lease_id,
            body_sha256_hex: EMPTY_BODY_SHA256,
        };
        let request = self
            .signed(Method::GET, &path, &to_sign, key)?
            .body(Full::new(Bytes::new()))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        self.fetch_document(request).await
    }

    async fn fetch_document(&self, request: Request<Full<Bytes>>) -> Result<Bytes, ClientError> {
        let response =
            tokio::time::timeout(self.timeout, self.exchange(request, MAX_DOCUMENT_BYTES))
                .await
                .map_err(|_| ClientError::Timeout(self.timeout))??;
        if response.status == StatusCode::OK {
            Ok(response.body)
        } else {
            Err(refusal(response))
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        lease_id: u64,
        path: &str,
        key: &SigningKey,
    ) -> Result<T, ClientError> {
        let to_sign = RequestToSign {
            method: Method::GET.as_str(),
            path,
            lease_id,
            body_sha256_hex: EMPTY_BODY_SHA256,
        };
        let request = self
            .signed(Method::GET, path, &to_sign, key)?
            .body(Full::new(Bytes::new()))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        decode(self.send(request).await?)
    }

    /// A request builder for `path` with the `Host` and signature headers.
    fn signed(
        &self,
        method: Method,
        path: &str,
        to_sign: &RequestToSign<'_>,
        key: &SigningKey,
    ) -> Result<http::request::Builder, ClientError> {
        let mut builder = self.request(method, path)?;
        if let Some(headers) = builder.headers_mut() {
            headers.extend(sign_request(key, to_sign, unix_now()));
        }
        Ok(builder)
    }

    /// A request builder for `path` on this gateway with its `Host` header, unsigned; for
    /// tools and tests that build requests themselves (see [`GatewayClient::send`]).
    pub fn request(
        &self,
        method: Method,
        path: &str,
    ) -> Result<http::request::Builder, ClientError> {
        let uri: Uri = path
            .parse()
            .map_err(|e: http::uri::InvalidUri| ClientError::Http(format!("path {path:?}: {e}")))?;
        Ok(Request::builder()
            .method(method)
            .uri(uri)
            .header(HOST, self.authority.as_str()))
    }

    /// Sends one request on a new connection and reads the whole answer, within the
    /// client's timeout. The answer arrives even if the server stops reading the body early.
    pub async fn send<B>(&self, request: Request<B>) -> Result<RawResponse, ClientError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        tokio::time::timeout(self.timeout, self.exchange(request, MAX_RESPONSE_BYTES))
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
    }

    async fn exchange<B>(
        &self,
        request: Request<B>,
        max_body_bytes: usize,
    ) -> Result<RawResponse, ClientError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let address = format!("{}:{}", self.host, self.port);
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|source| ClientError::Connect {
                address: address.clone(),
                source,
            })?;
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|error| self.tls_error(error))?;
        let (mut sender, connection) = http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let driver = tokio::spawn(connection);
        let outcome = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| ClientError::Http(e.to_string()))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), max_body_bytes)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        ClientError::ResponseTooLarge {
                            max: max_body_bytes,
                        }
                    } else {
                        ClientError::Http(format!("reading the answer: {e}"))
                    }
                })?
                .to_bytes();
            Ok(RawResponse { status, body })
        }
        .await;
        driver.abort();
        outcome
    }

    fn tls_error(&self, error: std::io::Error) -> ClientError {
        let host = self.host.clone();
        let rustls_error = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match rustls_error {
            Some(rustls::Error::InvalidCertificate(reason)) => ClientError::UntrustedServer {
                host,
                reason: describe_certificate_error(reason),
            },
            _ => ClientError::Tls {
                host,
                reason: error.to_string(),
            },
        }
    }
}

fn describe_certificate_error(error: &CertificateError) -> String {
    match error {
        CertificateError::UnknownIssuer => {
            "its certificate is not issued by the provider's root".to_string()
        }
        CertificateError::BadSignature => {
            "its certificate is not signed by the provider's root key".to_string()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "its certificate has expired".to_string()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "its certificate is not valid for this host name".to_string()
        }
        other => format!("{other:?}"),
    }
}

/// The typed answer of a 200, or the gateway's refusal.
fn decode<T: DeserializeOwned>(response: RawResponse) -> Result<T, ClientError> {
    if response.status == StatusCode::OK {
        return serde_json::from_slice(&response.body).map_err(|e| {
            ClientError::UnexpectedResponse {
                status: response.status.as_u16(),
                reason: format!("the body does not decode: {e}"),
            }
        });
    }
    Err(refusal(response))
}

/// The gateway's refusal in a non-200 answer.
fn refusal(response: RawResponse) -> ClientError {
    match response.error_body() {
        Some(ErrorBody { error, reason }) => ClientError::Refused {
            status: response.status.as_u16(),
            error,
            reason,
        },
        None => ClientError::UnexpectedResponse {
            status: response.status.as_u16(),
            reason: String::from_utf8_lossy(&response.body)
                .chars()
                .take(200)
                .collect(),
        },
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
