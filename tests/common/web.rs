//! A small HTTP/1.1 server started in-process for the web-import tests: each path answers one way
//! (an image, a status, an HTML page, a stall, a redirect loop, a connection dropped mid-body).
//! Written on raw TCP so that the misbehaving answers are exactly what a bad server sends.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the server answers one path.
#[derive(Clone, Debug)]
pub enum Answer {
    /// 200 with this body and Content-Type.
    Body(&'static str, Vec<u8>),
    /// 200 with this body and no Content-Length (the end of the body is the connection's end).
    Unsized(&'static str, Vec<u8>),
    /// This status with a short text body.
    Status(u16),
    /// 503 for the first `n` requests, then this body as an image.
    FlakyThen(usize, Vec<u8>),
    /// Nothing at all for this long (then the connection closes).
    Stall(Duration),
    /// 302 to this path.
    Redirect(&'static str),
    /// Headers declaring `declared` bytes, then only these bytes, then the connection is closed.
    DropAfter(usize, Vec<u8>),
}

/// A running server; stops when dropped.
pub struct WebServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl WebServer {
    /// Serve `routes` (path → answer; anything else is 404) on a free loopback port.
    pub fn start(routes: HashMap<&'static str, Answer>) -> WebServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let routes = Arc::new(routes);
        let counter = Arc::clone(&hits);
        runtime.spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let routes = Arc::clone(&routes);
                let hits = Arc::clone(&counter);
                tokio::spawn(async move {
                    let _ = serve(socket, &routes, &hits).await;
                });
            }
        });
        WebServer {
            base,
            hits,
            runtime: Some(runtime),
        }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How many requests `path` has had.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn serve(
    mut socket: tokio::net::TcpStream,
    routes: &HashMap<&'static str, Answer>,
    hits: &Mutex<HashMap<String, usize>>,
) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let hit = {
        let mut hits = hits.lock().unwrap();
        let n = hits.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let head = |status: &str, kind: &str, len: Option<usize>| {
        let len = len
            .map(|n| format!("Content-Length: {n}\r\n"))
            .unwrap_or_default();
        format!("HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n{len}Connection: close\r\n\r\n").into_bytes()
    };
    match routes.get(path.as_str()).cloned().unwrap_or(Answer::Status(404)) {
        Answer::Body(kind, body) => {
            socket.write_all(&head("200 OK", kind, Some(body.len()))).await?;
            socket.write_all(&body).await?;
        }
        Answer::Unsized(kind, body) => {
            socket.write_all(&head("200 OK", kind, None)).await?;
            socket.write_all(&body).await?;
        }
        Answer::Status(code) => {
            let body = format!("status {code}");
            let line = match code {
                404 => "404 Not Found".to_string(),
                503 => "503 Service Unavailable".to_string(),
                c => format!("{c} Status"),
            };
            socket
                .write_all(&head(&line, "text/plain", Some(body.len())))
                .await?;
            socket.write_all(body.as_bytes()).await?;
        }
        Answer::FlakyThen(failures, body) => {
            if hit <= failures {
                socket
                    .write_all(&head("503 Service Unavailable", "text/plain", Some(0)))
                    .await?;
            } else {
                socket
                    .write_all(&head("200 OK", "image/png", Some(body.len())))
                    .await?;
                socket.write_all(&body).await?;
            }
        }
        Answer::Stall(time) => tokio::time::sleep(time).await,
        Answer::Redirect(to) => {
            let head = format!(
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            socket.write_all(head.as_bytes()).await?;
        }
        Answer::DropAfter(declared, part) => {
            socket
                .write_all(&head("200 OK", "image/png", Some(declared)))
                .await?;
            socket.write_all(&part).await?;
            socket.flush().await?;
            // Closing with the body unfinished: the client sees the connection end mid-body.
        }
    }
    socket.shutdown().await
}
