//! A pooled connection whose I/O is driven by the thread that waits for its answer, so
//! a round trip costs no hand-off between threads: its socket, its own readiness poll
//! (mio), and the loop that drives a request and the connection together.
//!
//! tokio-postgres speaks the protocol over any `AsyncRead + AsyncWrite` stream. Here that
//! stream is a non-blocking socket that answers "not yet" when the kernel would block;
//! [`Io::wait`] then sleeps in `epoll` until the socket is ready and polls again. No
//! tokio runtime is involved, so this works on every thread, a runtime's included
//! (blocking it, as every blocking call does). The sync `postgres` client gets the
//! same effect with a runtime per connection, and panics on a runtime's thread.
//!
//! Connecting follows tokio-postgres's own `connect` (hosts, `hostaddr`, ports,
//! `connect_timeout`, keepalives, `tcp_user_timeout`, `load_balance_hosts`,
//! `target_session_attrs`), with the socket opened here instead of on a runtime.

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use carespace::{StorageError, StorageErrorKind};
use mio::{Interest, Token};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, LoadBalanceHosts, TargetSessionAttrs};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{AsyncMessage, Client, Config, SimpleQueryMessage};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::tls::{self, SslMode};

/// The socket's token in its poll; the waker has the other.
const SOCKET: Token = Token(0);
const WAKER: Token = Token(1);

/// The connection's I/O, beside its [`Client`]: every request made on the client is
/// waited for with [`Io::wait`], which carries it. (Kept apart from the client so that a
/// transaction can borrow the client while its requests are waited for.)
pub(crate) struct Io(RefCell<Driver>);

/// The connection's side: what reads and writes the socket, and the poll that says when
/// it can.
struct Driver {
    /// `None` once the connection ended; the client's requests then fail as closed.
    connection: Option<Box<dyn Messages>>,
    /// How long a sleep in the poll may last at most: until this instant, if set.
    deadline: Option<Instant>,
    poll: mio::Poll,
    events: mio::Events,
    sleep: Arc<Sleep>,
}

/// A tokio-postgres connection of any stream type: the messages it yields as it is
/// polled.
trait Messages: Send {
    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<AsyncMessage, tokio_postgres::Error>>>;
}

impl<S, T> Messages for tokio_postgres::Connection<S, T>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<AsyncMessage, tokio_postgres::Error>>> {
        tokio_postgres::Connection::poll_message(self, cx)
    }
}

/// One of a waiting loop's two wakers (the request's and the connection's): a flag the
/// loop looks at before it sleeps, and, if the loop is already asleep in its poll, a
/// nudge that wakes it. Keeping the two apart lets the loop poll only what was woken,
/// so a round trip is one write, one sleep in the poll and three reads (the answer and
/// two that find nothing more): once the request is written the thread goes to sleep.
/// (Wake-ups come from the same thread, the client's channel to its connection, so the
/// nudge is a safeguard.)
struct Flag {
    woken: AtomicBool,
    sleep: Arc<Sleep>,
}

/// Whether the loop is asleep in its poll, and the nudge that wakes it from there.
struct Sleep {
    asleep: AtomicBool,
    nudge: mio::Waker,
}

impl Flag {
    fn new(sleep: &Arc<Sleep>) -> Arc<Self> {
        Arc::new(Flag { woken: AtomicBool::new(true), sleep: Arc::clone(sleep) })
    }

    /// Whether it was woken since it was last taken, clearing it.
    fn take(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }

    fn is_set(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if self.sleep.asleep.load(Ordering::SeqCst) {
            // If the nudge fails the loop sleeps until the socket is ready, as it would
            // have without it.
            let _ = self.sleep.nudge.wake();
        }
    }
}

impl Io {
    /// Runs `future`, a request on this connection's client, to its end, driving the
    /// connection meanwhile: one round trip.
    pub(crate) fn wait<F: Future>(&self, future: F) -> F::Output {
        crate::count_round_trip();
        self.0.borrow_mut().run(future)
    }

    /// Whether the connection has ended, reading whatever the server sent while nobody
    /// waited (its goodbye, when it shut down): one read that does not wait.
    pub(crate) fn ended(&self) -> bool {
        let mut driver = self.0.borrow_mut();
        driver.drive(&mut Context::from_waker(Waker::noop()));
        driver.connection.is_none()
    }
}

impl Driver {
    fn new(poll: mio::Poll) -> io::Result<Self> {
        let nudge = mio::Waker::new(poll.registry(), WAKER)?;
        let sleep = Arc::new(Sleep { asleep: AtomicBool::new(false), nudge });
        Ok(Self { connection: None, deadline: None, poll, events: mio::Events::with_capacity(4), sleep })
    }

    /// Polls `future` and the connection until `future` ends, each only when it was
    /// woken, sleeping in the poll when neither was (never past [`Driver::deadline`]).
    fn run<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = pin!(future);
        let (request, connection) = (Flag::new(&self.sleep), Flag::new(&self.sleep));
        let request_waker = Waker::from(Arc::clone(&request));
        let connection_waker = Waker::from(Arc::clone(&connection));
        loop {
            if request.take()
                && let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&request_waker))
            {
                return output;
            }
            if connection.take() {
                self.drive(&mut Context::from_waker(&connection_waker));
                if self.connection.is_none() {
                    // Its end fails the request: poll it again.
                    request.wake_by_ref();
                }
            }
            if request.is_set() || connection.is_set() {
                continue;
            }
            let timeout = self.deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            self.sleep.asleep.store(true, Ordering::SeqCst);
            let slept = if request.is_set() || connection.is_set() {
                Ok(())
            } else {
                self.poll.poll(&mut self.events, timeout)
            };
            self.sleep.asleep.store(false, Ordering::SeqCst);
            match slept {
                // The socket may be ready; past the deadline, the request decides.
                Ok(()) => {
                    connection.woken.store(true, Ordering::SeqCst);
                    if self.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                        request.woken.store(true, Ordering::SeqCst);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => connection.woken.store(true, Ordering::SeqCst),
                // The poll itself failed (it does not, short of the process running out
                // of resources): end the connection, so the request fails rather than
                // waits for ever.
                Err(e) => {
                    tracing::warn!(target: crate::TARGET, error = %e, "a PostgreSQL connection's poll failed");
                    self.connection = None;
                    request.woken.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// Lets the connection read and write all it can, logging what the server says of
    /// its own accord; drops it once it ends, which fails the requests still waiting.
    fn drive(&mut self, cx: &mut Context<'_>) {
        while let Some(connection) = &mut self.connection {
            match connection.poll_message(cx) {
                Poll::Pending => return,
                Poll::Ready(Some(Ok(AsyncMessage::Notice(notice)))) => {
                    tracing::info!(target: crate::TARGET, severity = notice.severity(), "{}", notice.message());
                }
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => {
                    tracing::info!(target: crate::TARGET, error = %e, "a PostgreSQL connection ended");
                    self.connection = None;
                }
                Poll::Ready(None) => self.connection = None,
            }
        }
    }
}

impl Drop for Driver {
    /// Says goodbye to the server (the protocol's `Terminate`) when the client has gone
    /// first, as a connection's task would: one pass that writes what it can without
    /// waiting.
    fn drop(&mut self) {
        self.drive(&mut Context::from_waker(Waker::noop()));
    }
}

/// A connected, non-blocking socket: "not yet" ([`Poll::Pending`]) whenever the kernel
/// would block, after which the socket's poll reports when it is ready (mio's edge
/// trigger needs exactly that: every wait follows a `WouldBlock`).
///
/// The poll watches for reading always, and for writing only while a write is held
/// up: a socket is nearly always writable, and Linux reports it writable again after
/// every exchange, which would wake the waiting thread for nothing several times a
/// round trip.
struct Socket {
    stream: Stream,
    /// Where the socket is registered, to watch for writing while a write is held up.
    registry: mio::Registry,
    /// Whether the poll watches for writing.
    watching_writes: bool,
    /// Zeroed once; reads land here and are copied into the caller's buffer. The
    /// codec hands over fresh uninitialised space for every read, and safe code may
    /// read only into initialised memory: zeroing that space each time cost more
    /// instructions than the rest of a permission check (callgrind).
    scratch: Box<[u8]>,
}

/// The most one read takes from the kernel: the codec's own buffer size.
const SCRATCH: usize = 8 * 1024;

/// A socket of either kind.
enum Stream {
    Tcp(mio::net::TcpStream),
    #[cfg(unix)]
    Unix(mio::net::UnixStream),
}

impl Socket {
    /// `stream`, registered in `poll` for reading.
    fn register(mut stream: Stream, poll: &mio::Poll) -> io::Result<Self> {
        let registry = poll.registry().try_clone()?;
        match &mut stream {
            Stream::Tcp(s) => registry.register(s, SOCKET, Interest::READABLE)?,
            #[cfg(unix)]
            Stream::Unix(s) => registry.register(s, SOCKET, Interest::READABLE)?,
        }
        Ok(Self { stream, registry, watching_writes: false, scratch: vec![0; SCRATCH].into_boxed_slice() })
    }

    /// Makes the poll watch for writing (`true`) or not.
    fn watch_writes(&mut self, watch: bool) -> io::Result<()> {
        if self.watching_writes == watch {
            return Ok(());
        }
        let interest = if watch { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
        match &mut self.stream {
            Stream::Tcp(s) => self.registry.reregister(s, SOCKET, interest)?,
            #[cfg(unix)]
            Stream::Unix(s) => self.registry.reregister(s, SOCKET, interest)?,
        }
        self.watching_writes = watch;
        Ok(())
    }
}

impl Stream {
    /// `op` on the socket, again if a signal interrupted it; [`Poll::Pending`] when
    /// the kernel would block.
    fn io<T>(&mut self, mut op: impl FnMut(&mut dyn ReadWrite) -> io::Result<T>) -> Poll<io::Result<T>> {
        loop {
            let done = match self {
                Stream::Tcp(s) => op(s),
                #[cfg(unix)]
                Stream::Unix(s) => op(s),
            };
            match done {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                done => return Poll::Ready(done),
            }
        }
    }
}

/// A socket's reads and writes, whatever its kind.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

impl AsyncRead for Socket {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let Socket { stream, scratch, .. } = self.get_mut();
        let room = buf.remaining().min(scratch.len());
        let into = scratch.get_mut(..room).unwrap_or_default();
        let read = stream.io(|s| s.read(into));
        read.map_ok(|n| buf.put_slice(into.get(..n).unwrap_or_default()))
    }
}

impl AsyncWrite for Socket {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let socket = self.get_mut();
        let written = socket.stream.io(|s| s.write(data));
        // Watch for writing while held up, and stop once a write goes through.
        if let Err(e) = socket.watch_writes(written.is_pending()) {
            return Poll::Ready(Err(e));
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A socket keeps nothing back to flush.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shut = match &self.get_mut().stream {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
        };
        Poll::Ready(shut)
    }
}

/// Connects as `config` says, trying its hosts in turn (in a random order with
/// `load_balance_hosts=random`), and returns the first that answers as
/// `target_session_attrs` asks; the error is the last host's.
pub(crate) fn connect(config: &Config, tls: &MakeRustlsConnect, mode: SslMode) -> Result<(Client, Io), StorageError> {
    let (hosts, addrs, ports) = (config.get_hosts(), config.get_hostaddrs(), config.get_ports());
    let count = hosts.len().max(addrs.len());
    if count == 0 {
        return Err(refused(mode, "the connection string names no host", None));
    }
    if (!hosts.is_empty() && !addrs.is_empty() && hosts.len() != addrs.len())
        || (ports.len() > 1 && ports.len() != count)
    {
        return Err(refused(mode, "the connection string's hosts, hostaddrs and ports do not pair up", None));
    }
    let mut order: Vec<usize> = (0..count).collect();
    if config.get_load_balance_hosts() == LoadBalanceHosts::Random {
        shuffle(&mut order);
    }
    let mut last = None;
    for i in order {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let hostname = match hosts.get(i) {
            Some(Host::Tcp(name)) => name.as_str(),
            _ => "",
        };
        let target = match (addrs.get(i), hosts.get(i)) {
            (Some(ip), _) => Target::Ip(*ip),
            (None, Some(Host::Tcp(name))) => Target::Name(name),
            #[cfg(unix)]
            (None, Some(Host::Unix(dir))) => Target::Unix(dir.join(format!(".s.PGSQL.{port}"))),
            (None, None) => continue,
        };
        match connect_host(config, tls, mode, &target, hostname, port) {
            Ok(connected) => return Ok(connected),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| refused(mode, "no host could be tried", None)))
}

/// Where one host of the connection string is.
enum Target<'a> {
    Ip(IpAddr),
    Name(&'a str),
    #[cfg(unix)]
    Unix(std::path::PathBuf),
}

/// A connection to one host: each of its addresses in turn, then the protocol's start
/// (TLS, authentication) on the first socket that connects.
fn connect_host(
    config: &Config,
    tls: &MakeRustlsConnect,
    mode: SslMode,
    target: &Target<'_>,
    hostname: &str,
    port: u16,
) -> Result<(Client, Io), StorageError> {
    let deadline = config.get_connect_timeout().map(|timeout| Instant::now() + *timeout);
    let socket = match target {
        Target::Ip(ip) => tcp(config, &[SocketAddr::new(*ip, port)], deadline),
        Target::Name(name) => match (*name, port).to_socket_addrs() {
            Ok(found) => tcp(config, &found.collect::<Vec<_>>(), deadline),
            Err(e) => Err(e),
        },
        #[cfg(unix)]
        Target::Unix(path) => std::os::unix::net::UnixStream::connect(path)
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .map(|s| Stream::Unix(mio::net::UnixStream::from_std(s))),
    };
    let where_ = || match target {
        Target::Ip(ip) => format!("{ip}:{port}"),
        Target::Name(name) => format!("{name}:{port}"),
        #[cfg(unix)]
        Target::Unix(path) => path.display().to_string(),
    };
    let stream = socket.map_err(|e| refused(mode, &format!("cannot reach {}", where_()), Some(e)))?;
    let poll = mio::Poll::new().map_err(|e| refused(mode, "cannot make a poll", Some(e)))?;
    let socket = Socket::register(stream, &poll).map_err(|e| refused(mode, "cannot poll the socket", Some(e)))?;
    let mut driver = Driver::new(poll).map_err(|e| refused(mode, "cannot make a poll's waker", Some(e)))?;
    let tls = MakeTlsConnect::<Socket>::make_tls_connect(&mut tls.clone(), hostname)
        .map_err(|e| refused(mode, &format!("cannot start TLS for “{hostname}”: {e}"), None))?;
    // The protocol's start, given up once the deadline passes: the poll sleeps no
    // longer than that, and the start is polled again after it wakes.
    driver.deadline = deadline;
    let mut start = pin!(config.connect_raw(socket, tls));
    let started = driver.run(std::future::poll_fn(|cx| match deadline {
        Some(deadline) if Instant::now() >= deadline => Poll::Ready(None),
        _ => start.as_mut().poll(cx).map(Some),
    }));
    driver.deadline = None;
    let Some(started) = started else { return Err(timed_out(mode, &where_())) };
    let (client, connection) = started.map_err(|e| tls::refused(e, mode))?;
    driver.connection = Some(Box::new(connection));
    let io = Io(RefCell::new(driver));
    let wanted = config.get_target_session_attrs();
    if wanted != TargetSessionAttrs::Any {
        let answer = io.wait(client.simple_query("SHOW transaction_read_only")).map_err(|e| tls::refused(e, mode))?;
        let read_only = answer.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0),
            _ => None,
        });
        match (wanted, read_only) {
            (TargetSessionAttrs::ReadWrite, Some("on")) => {
                return Err(refused(mode, &format!("{} does not allow writes", where_()), None));
            }
            (TargetSessionAttrs::ReadOnly, Some("off")) => {
                return Err(refused(mode, &format!("{} is not read only", where_()), None));
            }
            _ => {}
        }
    }
    Ok((client, io))
}

/// A TCP connection to the first of `addrs` that accepts one before `deadline`, set up
/// as the connection string asks.
fn tcp(config: &Config, addrs: &[SocketAddr], deadline: Option<Instant>) -> io::Result<Stream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name resolves to no address");
    for addr in addrs {
        let stream = match deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => std::net::TcpStream::connect_timeout(addr, left),
                _ => return Err(io::Error::new(io::ErrorKind::TimedOut, "connection timed out")),
            },
            None => std::net::TcpStream::connect(addr),
        };
        match stream.and_then(|s| set_up(config, s)) {
            Ok(socket) => return Ok(socket),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// `stream` non-blocking, without Nagle's delay, with the keepalives and user timeout
/// the connection string asks for (tokio-postgres's defaults: keepalives on, first
/// probe after two hours).
fn set_up(config: &Config, stream: std::net::TcpStream) -> io::Result<Stream> {
    stream.set_nodelay(true)?;
    let socket = socket2::SockRef::from(&stream);
    if config.get_keepalives() {
        let mut keepalive = socket2::TcpKeepalive::new().with_time(config.get_keepalives_idle());
        // The platforms tokio-postgres sets these on.
        #[cfg(not(any(target_os = "aix", target_os = "redox", target_os = "solaris", target_os = "openbsd")))]
        if let Some(interval) = config.get_keepalives_interval() {
            keepalive = keepalive.with_interval(interval);
        }
        #[cfg(not(any(
            target_os = "aix",
            target_os = "redox",
            target_os = "solaris",
            target_os = "windows",
            target_os = "openbsd"
        )))]
        if let Some(retries) = config.get_keepalives_retries() {
            keepalive = keepalive.with_retries(retries);
        }
        socket.set_tcp_keepalive(&keepalive)?;
    }
    #[cfg(target_os = "linux")]
    if let Some(timeout) = config.get_tcp_user_timeout() {
        socket.set_tcp_user_timeout(Some(*timeout))?;
    }
    stream.set_nonblocking(true)?;
    Ok(Stream::Tcp(mio::net::TcpStream::from_std(stream)))
}

/// Puts `order` in a random order (the standard library's randomly keyed hasher is
/// randomness enough to spread connections over hosts).
fn shuffle(order: &mut [usize]) {
    use std::hash::{BuildHasher, Hasher};
    for i in (1..order.len()).rev() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(i);
        let j = usize::try_from(hasher.finish() % (i as u64 + 1)).unwrap_or(0);
        order.swap(i, j);
    }
}

/// The error of a connection that could not be made, saying why.
fn refused(mode: SslMode, why: &str, cause: Option<io::Error>) -> StorageError {
    let message = match &cause {
        Some(e) => format!("could not connect to PostgreSQL (sslmode={}): {why}: {e}", mode.name()),
        None => format!("could not connect to PostgreSQL (sslmode={}): {why}", mode.name()),
    };
    let error = StorageError::new(StorageErrorKind::Unavailable, message);
    match cause {
        Some(e) => error.with_source(e),
        None => error,
    }
}

/// The error of a connection whose start took longer than `connect_timeout`.
fn timed_out(mode: SslMode, where_: &str) -> StorageError {
    refused(mode, &format!("{where_} did not finish starting the connection within connect_timeout"), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shuffle_keeps_every_host_once() {
        let mut order: Vec<usize> = (0..10).collect();
        shuffle(&mut order);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_string_naming_no_host_is_refused_saying_so() {
        let config: Config = "user=postgres".parse().unwrap();
        let tls = tls::connector(&tls::split("").unwrap().1).unwrap();
        let err = connect(&config, &tls, SslMode::Disable).err().unwrap();
        assert_eq!(err.kind(), StorageErrorKind::Unavailable);
        assert!(err.to_string().contains("names no host"), "{err}");
    }

    /// A server that accepts the connection and then says nothing: the start is given up
    /// at `connect_timeout`, saying so.
    #[test]
    fn a_server_that_never_answers_is_given_up_at_the_connect_timeout() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let config: Config =
            format!("host=127.0.0.1 port={port} user=postgres connect_timeout=1 sslmode=disable").parse().unwrap();
        let tls = tls::connector(&tls::split("").unwrap().1).unwrap();
        let started = Instant::now();
        let err = connect(&config, &tls, SslMode::Disable).err().unwrap();
        let took = started.elapsed();
        assert_eq!(err.kind(), StorageErrorKind::Unavailable);
        assert!(err.to_string().contains("within connect_timeout"), "{err}");
        assert!(took >= std::time::Duration::from_secs(1) && took < std::time::Duration::from_secs(10), "{took:?}");
        drop(silent);
    }

    /// `target_session_attrs=read-write` refuses a server whose sessions are read only,
    /// and takes one that is not.
    #[test]
    fn target_session_attrs_read_write_refuses_a_read_only_server() {
        let url = std::env::var("CARESPACE_PG_URL").expect("set CARESPACE_PG_URL (make test-postgres does)");
        let (rest, settings) = tls::split(&url).unwrap();
        let tls = tls::connector(&settings).unwrap();
        let mut writable: Config = rest.parse().unwrap();
        writable.ssl_mode(settings.mode.wire()).target_session_attrs(TargetSessionAttrs::ReadWrite);
        let (client, io) = connect(&writable, &tls, settings.mode).unwrap();
        let row = io.wait(client.query_one("SELECT 1 + 1", &[])).unwrap();
        assert_eq!(row.get::<_, i32>(0), 2);
        let mut read_only = writable.clone();
        read_only.options("-c default_transaction_read_only=on");
        let err = connect(&read_only, &tls, settings.mode).err().unwrap();
        assert!(err.to_string().contains("does not allow writes"), "{err}");
    }

    #[test]
    fn a_closed_port_is_refused_naming_the_address() {
        // Port 1 on the loopback: nothing listens there.
        let config: Config = "host=127.0.0.1 port=1 user=postgres".parse().unwrap();
        let tls = tls::connector(&tls::split("").unwrap().1).unwrap();
        let err = connect(&config, &tls, SslMode::Disable).err().unwrap();
        assert_eq!(err.kind(), StorageErrorKind::Unavailable);
        assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    }
}
