//! One shutdown signal for every command: Ctrl-C (SIGINT), SIGTERM and SIGHUP all end it the same
//! way: this process's helper containers (probes, seeders, bench runs) are removed, then it
//! exits 2 with "interrupted", "terminated" or "hung up".
//!
//! [`install`] registers the three signals first thing: their handler writes the signal's number
//! to a pipe, which a thread of their own reads, so that no command can keep them from being
//! heard: the command's own thread may be blocked (a prompt, the workspace lock, a file that
//! never ends being read). That thread costs one thread start (tens of microseconds) and no
//! runtime; one is made only in the rare case it must remove helpers itself. When a signal
//! arrives:
//! - the command hears it through [`shutdown`] (`cli::main` waits on it beside every command,
//!   `watch` in its own loop), drops its work and removes its helpers ([`remove_helpers`]);
//! - if the command has not taken it within [`GRACE`], its thread is blocked: the signal thread
//!   removes the helpers itself and ends the process;
//! - a second signal stops the waiting for the command's own cleanup;
//! - while a pager shows output ([`hold`]), a Ctrl-C is the pager's: the process waits for it.

use crate::util::error::Result;
use std::future::Future;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::watch;

/// How long a command has to take a signal before the signal thread acts for it.
pub const GRACE: Duration = Duration::from_millis(300);
/// The longest the helpers' removal may take after a signal (a daemon that answers no more).
pub const CLEANUP_BUDGET: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
    HangUp,
}

impl Signal {
    fn from_raw(n: libc::c_int) -> Option<Signal> {
        match n {
            libc::SIGINT => Some(Signal::Interrupt),
            libc::SIGTERM => Some(Signal::Terminate),
            libc::SIGHUP => Some(Signal::HangUp),
            _ => None,
        }
    }

    /// What the command's error says.
    pub fn message(self) -> &'static str {
        match self {
            Signal::Interrupt => "interrupted",
            Signal::Terminate => "terminated",
            Signal::HangUp => "hung up",
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// The first signal received, for every [`shutdown`] future (any runtime).
fn received() -> &'static watch::Sender<Option<Signal>> {
    static RECEIVED: OnceLock<watch::Sender<Option<Signal>>> = OnceLock::new();
    RECEIVED.get_or_init(|| watch::channel(None).0)
}

/// Who handles the shutdown: nobody yet, the command, or the signal thread.
static OWNER: AtomicU8 = AtomicU8::new(NOBODY);
const NOBODY: u8 = 0;
const COMMAND: u8 = 1;
const SIGNAL_THREAD: u8 = 2;

/// Takes the shutdown for `who`; false when the other side has it.
fn claim(who: u8) -> bool {
    match OWNER.compare_exchange(NOBODY, who, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => true,
        Err(owner) => owner == who,
    }
}

/// [`shutdown`] futures alive: the command handles signals itself.
static LISTENERS: AtomicUsize = AtomicUsize::new(0);
/// [`Hold`] guards alive.
static HOLDS: AtomicUsize = AtomicUsize::new(0);

struct Listening;

impl Listening {
    fn new() -> Listening {
        LISTENERS.fetch_add(1, Ordering::SeqCst);
        Listening
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        LISTENERS.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn first_signal() -> Signal {
    let mut rx = received().subscribe();
    let signal = match rx.wait_for(Option::is_some).await {
        Ok(s) => s.unwrap_or(Signal::Interrupt),
        // The sender lives in a static: never dropped.
        Err(_) => std::future::pending().await,
    };
    signal
}

/// Resolves when SIGINT, SIGTERM or SIGHUP arrives, for a command that ends itself on it (and
/// removes its helpers). Never resolves if the signal thread has already taken the shutdown
/// (the command's thread was blocked): that thread ends the process.
pub fn shutdown() -> impl Future<Output = Signal> {
    let listening = Listening::new();
    async move {
        let _listening = listening;
        let signal = first_signal().await;
        if !claim(COMMAND) {
            std::future::pending::<()>().await;
        }
        signal
    }
}

/// [`shutdown`] for `cli::main`, which waits on it beside every command: when the command
/// listens for signals itself (`watch`), it is given [`CLEANUP_BUDGET`] to end on its own first.
pub async fn shutdown_beside_command() -> Signal {
    let signal = first_signal().await;
    if !claim(COMMAND) {
        std::future::pending::<()>().await;
    }
    if LISTENERS.load(Ordering::SeqCst) > 0 {
        tokio::time::sleep(CLEANUP_BUDGET).await;
    }
    signal
}

/// While it lives, a signal belongs to the program in front (a pager): the process is not ended
/// under it, and the command goes on once that program is done.
pub struct Hold(());

pub fn hold() -> Hold {
    HOLDS.fetch_add(1, Ordering::SeqCst);
    Hold(())
}

impl Drop for Hold {
    fn drop(&mut self) {
        HOLDS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Removes this process's helper containers, within [`CLEANUP_BUDGET`]. Never panics (a hung-up
/// terminal makes a warning's `eprintln!` fail).
pub async fn remove_helpers() {
    use futures_util::FutureExt;
    let Some(cleanup) = CLEANUP.get() else {
        return;
    };
    let bounded = tokio::time::timeout(CLEANUP_BUDGET, cleanup());
    let _ = std::panic::AssertUnwindSafe(bounded).catch_unwind().await;
}

/// What removes this process's helpers, given at [`install`].
pub type Cleanup = fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

static CLEANUP: OnceLock<Cleanup> = OnceLock::new();

/// Registers SIGINT, SIGTERM and SIGHUP and starts the thread that hears them. From here on
/// none of them ends the process without the helpers' removal. A signal this process was
/// started ignoring stays ignored (`nohup` ignores SIGHUP, a shell's background job SIGINT).
/// Programs this process starts get the default behaviour back (`exec` resets handlers).
pub fn install(cleanup: Cleanup) -> Result<()> {
    let _ = CLEANUP.set(cleanup);
    let cannot = |e: std::io::Error| crate::util::error::Error::io("cannot listen for signals", e);
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe fills in two descriptors on success, which the OwnedFds then own.
    let (read, write) = unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(cannot(std::io::Error::last_os_error()));
        }
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    };
    for fd in [&read, &write] {
        // Not inherited by programs started; and a full pipe must never block the handler.
        // SAFETY: fcntl on a descriptor this function owns.
        unsafe {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
    // The write end stays open as long as the process: the handler may run at any time.
    let write = write.into_raw_fd();
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        if ignored(signal) {
            continue;
        }
        let byte = signal as u8;
        // SAFETY: the action only calls write(2), which is async-signal-safe, on a descriptor
        // that is never closed.
        let registered = unsafe {
            signal_hook_registry::register(signal, move || {
                libc::write(write, (&byte as *const u8).cast(), 1);
            })
        };
        registered.map_err(cannot)?;
    }
    std::thread::Builder::new()
        .name("signals".to_string())
        .stack_size(256 << 10)
        .spawn(move || guard(read))
        .map_err(|e| crate::util::error::Error::io("cannot start", e))?;
    Ok(())
}

/// Whether `signal` is ignored (`SIG_IGN`) in this process.
fn ignored(signal: libc::c_int) -> bool {
    // SAFETY: with a null new action, sigaction only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// The next signal from the pipe, waiting up to `timeout` (forever with `None`).
fn next(pipe: &OwnedFd, timeout: Option<Duration>) -> Option<Signal> {
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    loop {
        let mut byte = 0u8;
        // SAFETY: reads one byte into a local from a descriptor this thread owns.
        let n = unsafe { libc::read(pipe.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
        if n == 1 {
            match Signal::from_raw(libc::c_int::from(byte)) {
                Some(s) => return Some(s),
                None => continue,
            }
        }
        let wait_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return None;
                }
                left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int
            }
        };
        let mut fds = libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut fds, 1, wait_ms) };
    }
}

/// The signal thread: passes the first signal on, and ends the process if the command cannot.
fn guard(pipe: OwnedFd) {
    let signal = loop {
        if let Some(s) = next(&pipe, None) {
            break s;
        }
    };
    received().send_replace(Some(signal));
    loop {
        // The command takes the signal within GRACE, unless its thread is blocked.
        let again = next(&pipe, Some(GRACE)).is_some();
        if HOLDS.load(Ordering::SeqCst) > 0 {
            continue;
        }
        if claim(SIGNAL_THREAD) {
            // The command's thread is blocked: remove its helpers from here.
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(remove_helpers());
            }
            exit(signal);
        }
        // The command is removing its helpers: it has the budget for that, which a further
        // signal cuts short.
        if !again {
            next(&pipe, Some(CLEANUP_BUDGET + GRACE));
        }
        exit(signal);
    }
}

/// Ends the process as a command ended by `signal` does.
// By design: the signal thread ends the process while the command's thread may be blocked,
// so it cannot return an exit code from `main` (clippy.toml disallows `process::exit` elsewhere).
#[allow(clippy::disallowed_methods)]
fn exit(signal: Signal) -> ! {
    report(signal.message());
    std::process::exit(2);
}

/// `error: {message}` on stderr; nothing (and no panic) when stderr is gone.
pub fn report(message: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "{} {message}",
        console::style("error:").red().bold()
    );
}
