//! A TCP proxy in front of moto server that a test can cut and restore.

/// The proxy.
///
/// Why a proxy, and not stopping moto: moto server keeps its data in memory, so a
/// stopped-and-restarted moto would come back empty, and "nothing is lost" could not
/// be checked. Cutting the network path is what the functions see when DynamoDB is
/// unreachable (connections fail), while the data stays where it was, as it would in
/// DynamoDB itself. While cut, new connections are accepted and closed at once and
/// open ones are severed.
pub struct Proxy {
    pub url: String,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy port");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let (cut, _) = tokio::sync::watch::channel(false);
        let watch = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut severed = watch.subscribe();
                if *severed.borrow() {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = severed.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Proxy { url, cut }
    }

    /// The database becomes unreachable.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// The database is reachable again, with all its data.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}
