//! The keys pressed during the watch, read on a blocking thread.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use console::{Key, Term};
use tokio::sync::mpsc;

/// Reads keys on a blocking thread while it lives. On Unix the terminal is switched to
/// no-echo, key-at-a-time input for the session (Ctrl-C still interrupts), and the thread
/// waits for input with a timeout, so it notices the end of the watch and never keeps the
/// process (or a raw-mode terminal) waiting for one more key.
pub(super) struct KeyReader {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl KeyReader {
    /// `None` when there is no terminal to read keys from.
    pub(super) fn start(tx: mpsc::UnboundedSender<Key>) -> Option<KeyReader> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let term = [Term::stdout(), Term::stderr()]
            .into_iter()
            .find(Term::is_term)?;
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        let saved = key_at_a_time();
        let (thread_stop, thread_done) = (stop.clone(), done.clone());
        tokio::task::spawn_blocking(move || {
            while !thread_stop.load(Ordering::SeqCst) {
                if !input_ready(Duration::from_millis(100)) {
                    continue;
                }
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                match term.read_key() {
                    Ok(key) => {
                        let quit = matches!(key, Key::Char('q' | 'Q'));
                        if tx.send(key).is_err() || quit {
                            break;
                        }
                    }
                    // Ctrl-C: console raised SIGINT, the watch handles it.
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => break,
                    Err(_) => break,
                }
            }
            thread_done.store(true, Ordering::SeqCst);
        });
        Some(KeyReader {
            stop,
            done,
            #[cfg(unix)]
            saved,
        })
    }
}

impl Drop for KeyReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Let the thread finish a key it is reading before the terminal is put back.
        let started = std::time::Instant::now();
        while !self.done.load(Ordering::SeqCst) && started.elapsed() < Duration::from_millis(500) {
            std::thread::sleep(Duration::from_millis(5));
        }
        #[cfg(unix)]
        if let Some(saved) = self.saved {
            // SAFETY: restores the attributes read from the same descriptor at start.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved);
            }
        }
    }
}

/// Non-canonical, no-echo input on stdin (signals stay on); returns the attributes to restore.
#[cfg(unix)]
fn key_at_a_time() -> Option<libc::termios> {
    // SAFETY: tcgetattr fills the struct on success (checked); tcsetattr reads it.
    unsafe {
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        if libc::tcgetattr(libc::STDIN_FILENO, t.as_mut_ptr()) != 0 {
            return None;
        }
        let saved = t.assume_init();
        let mut raw = saved;
        raw.c_lflag &= !(libc::ICANON | libc::ECHO);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
            return None;
        }
        Some(saved)
    }
}

/// Whether stdin has input within `timeout`.
#[cfg(unix)]
fn input_ready(timeout: Duration) -> bool {
    let mut fds = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut fds, 1, timeout.as_millis() as libc::c_int) };
    if n < 0 {
        // Interrupted by a signal: look again after a pause rather than spin.
        std::thread::sleep(timeout);
        return false;
    }
    n > 0
}

/// Elsewhere `read_key` blocks until a key: the watch may then wait for one at exit.
#[cfg(not(unix))]
fn input_ready(_timeout: Duration) -> bool {
    true
}
