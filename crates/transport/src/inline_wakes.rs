//! A future adapter that keeps the wake-ups a task gives itself inside that task.
//!
//! Inside one connection's task, one part often wakes another: hyper's body channel wakes the
//! connection's dispatcher when the handler asks for the body, and an answer wakes the select
//! that waits for it. Tokio treats a task woken while it runs as one that yielded: it queues
//! the task behind the others and wakes a parked worker to steal it, a futex call and a
//! context switch or two per wake-up, and the connection moves between cores.
//!
//! [`InlineWakes`] polls its future with a waker of its own. A wake-up that arrives while the
//! future is being polled only marks it for one more poll, made at once in the same turn; a
//! wake-up that arrives between polls wakes the task as usual. After [`MAX_REPOLLS`] polls in
//! one turn the task yields for real, so a future that keeps waking itself still lets others
//! run.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures::task::AtomicWaker;

/// Polls of the inner future in one turn before the task yields to the others.
pub const MAX_REPOLLS: u32 = 8;

const IDLE: u8 = 0;
const POLLING: u8 = 1;
const POLLING_WOKEN: u8 = 2;

/// A future whose wake-ups from inside its own poll are handled in that poll.
pub struct InlineWakes<F> {
    inner: Pin<Box<F>>,
    signal: Arc<Signal>,
    waker: Waker,
}

/// Where the inner future's waker leads.
struct Signal {
    state: AtomicU8,
    /// The task's own waker, for wake-ups between polls.
    task: AtomicWaker,
}

impl<F: Future> InlineWakes<F> {
    /// Wraps `inner`.
    pub fn new(inner: F) -> Self {
        let signal = Arc::new(Signal {
            state: AtomicU8::new(IDLE),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(signal.clone());
        Self {
            inner: Box::pin(inner),
            signal,
            waker,
        }
    }
}

impl<F: Future> Future for InlineWakes<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        this.signal.task.register(cx.waker());
        let mut inner_cx = Context::from_waker(&this.waker);
        for _ in 0..MAX_REPOLLS {
            this.signal.state.store(POLLING, Ordering::Release);
            if let Poll::Ready(out) = this.inner.as_mut().poll(&mut inner_cx) {
                this.signal.state.store(IDLE, Ordering::Release);
                return Poll::Ready(out);
            }
            let unwoken = this.signal.state.compare_exchange(
                POLLING,
                IDLE,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            if unwoken.is_ok() {
                return Poll::Pending;
            }
        }
        this.signal.state.store(IDLE, Ordering::Release);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let marked = self.state.compare_exchange(
            POLLING,
            POLLING_WOKEN,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if marked == Err(IDLE) {
            self.task.wake();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts the wake-ups it receives.
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Wakes itself `times` times from inside its poll before finishing.
    struct SelfWaking {
        times: u32,
    }

    impl Future for SelfWaking {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.times == 0 {
                return Poll::Ready(());
            }
            self.times -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn poll_once<F: Future>(fut: &mut Pin<Box<InlineWakes<F>>>, task: &Arc<CountingWaker>) -> bool {
        let waker = Waker::from(task.clone());
        fut.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready()
    }

    #[test]
    fn a_wake_up_from_inside_the_poll_is_a_repoll_not_a_task_wake_up() {
        let task = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let mut fut = Box::pin(InlineWakes::new(SelfWaking { times: 3 }));
        assert!(poll_once(&mut fut, &task));
        assert_eq!(task.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_future_that_keeps_waking_itself_still_yields_to_the_others() {
        let task = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let mut fut = Box::pin(InlineWakes::new(SelfWaking { times: 100 }));
        assert!(!poll_once(&mut fut, &task));
        assert_eq!(task.0.load(Ordering::SeqCst), 1, "one real yield");
    }

    #[tokio::test]
    async fn a_wake_up_between_polls_wakes_the_task() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let handle = tokio::spawn(InlineWakes::new(rx));
        tokio::task::yield_now().await;
        tx.send(7).unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), handle).await;
        assert_eq!(got.unwrap().unwrap().unwrap(), 7);
    }
}
