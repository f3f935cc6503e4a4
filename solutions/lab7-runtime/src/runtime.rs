//! # Lab 7, part A: the runtime (reference solution)
//!
//! Lab 6's single-threaded executor with lab 2's event loop as the place where it waits. One
//! thread polls the ready tasks, then waits in `mio::Poll::poll` with the earliest timer
//! deadline as its timeout, dispatches the events and fires the due timers, and starts again.
//! A waker called from another thread interrupts that wait through a `mio::Waker`.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::reactor::Reactor;
use crate::timer::Timers;

type TaskId = u64;

/// The id under which `block_on`'s own future is woken; spawned tasks count from 1.
const MAIN: TaskId = 0;

thread_local! {
    /// The runtime whose `block_on` is running on this thread, if any.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// A single-threaded async runtime: a run queue of tasks, a reactor (mio) for sockets and a
/// timer heap for `sleep`, all driven by the thread that calls [`Runtime::block_on`].
pub struct Runtime {
    core: Rc<Core>,
}

/// What the runtime's parts share on its thread.
pub(crate) struct Core {
    shared: Arc<Shared>,
    tasks: RefCell<HashMap<TaskId, Rc<Task>>>,
    /// The ready ids being run, kept to reuse its buffer.
    batch: RefCell<VecDeque<TaskId>>,
    next_id: Cell<TaskId>,
    pub(crate) reactor: Rc<Reactor>,
    pub(crate) timers: Rc<Timers>,
}

/// What the wakers share with the runtime: they may be called from any thread.
struct Shared {
    ready: Mutex<VecDeque<TaskId>>,
    /// True while the runtime's thread is (about to be) waiting in `mio::Poll::poll`.
    parked: AtomicBool,
    unpark: mio::Waker,
}

impl Shared {
    fn ready(&self) -> MutexGuard<'_, VecDeque<TaskId>> {
        self.ready.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A spawned future and its waker.
struct Task {
    future: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    handle: Arc<TaskWaker>,
    waker: Waker,
}

/// The waker of a task: it queues the task's id, at most once until its next poll.
struct TaskWaker {
    id: TaskId,
    scheduled: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared.ready().push_back(self.id);
        // Only a thread other than the runtime's can find it waiting in poll: interrupt it.
        if self.shared.parked.load(Ordering::SeqCst) {
            let _ = self.shared.unpark.wake();
        }
    }
}

/// Waits for a spawned task and gives its output. Dropping it lets the task run on.
pub struct JoinHandle<T> {
    state: Rc<RefCell<JoinState<T>>>,
}

struct JoinState<T> {
    output: Option<T>,
    waker: Option<Waker>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.state.borrow_mut();
        if let Some(output) = state.output.take() {
            return Poll::Ready(output);
        }
        match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Runtime {
    /// A runtime with no task, its reactor (a `mio::Poll`) and its `mio::Waker`.
    pub fn new() -> io::Result<Runtime> {
        let reactor = Rc::new(Reactor::new()?);
        let unpark = reactor.unparker()?;
        Ok(Runtime {
            core: Rc::new(Core {
                shared: Arc::new(Shared {
                    ready: Mutex::new(VecDeque::new()),
                    parked: AtomicBool::new(false),
                    unpark,
                }),
                tasks: RefCell::new(HashMap::new()),
                batch: RefCell::new(VecDeque::new()),
                next_id: Cell::new(MAIN + 1),
                reactor,
                timers: Rc::new(Timers::default()),
            }),
        })
    }

    /// Runs `future` to completion on this thread, together with the spawned tasks; returns
    /// its output. While nothing is ready, the thread waits in `mio::Poll::poll`.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _context = Enter::new(Rc::clone(&self.core));
        let mut future = pin!(future);
        let main = Arc::new(TaskWaker {
            id: MAIN,
            scheduled: AtomicBool::new(true),
            shared: Arc::clone(&self.core.shared),
        });
        let waker = Waker::from(Arc::clone(&main));
        let mut cx = Context::from_waker(&waker);
        loop {
            if main.scheduled.swap(false, Ordering::AcqRel) {
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            }
            self.core.run_ready();
            self.core.park(&main.scheduled);
        }
    }

    /// Spawns `future` as a task of this runtime. It runs while `block_on` runs.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn(future)
    }

    /// How many I/O sources (listeners and streams) are registered with this runtime's
    /// reactor right now. The runtime's own `mio::Waker` does not count.
    pub fn registrations(&self) -> usize {
        self.core.reactor.registrations()
    }
}

impl Drop for Runtime {
    /// Drops the unfinished tasks (and with them their sockets and sleeps).
    fn drop(&mut self) {
        let tasks: Vec<Rc<Task>> = self
            .core
            .tasks
            .borrow_mut()
            .drain()
            .map(|(_, t)| t)
            .collect();
        for task in tasks {
            let future = task.future.borrow_mut().take();
            drop(future);
        }
    }
}

/// Spawns `future` on the runtime running on this thread. Panics outside a runtime.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    current().spawn(future)
}

/// The runtime running on this thread; panics with an explanation outside one.
pub(crate) fn current() -> Rc<Core> {
    CURRENT.with(|current| current.borrow().clone()).expect(
        "no lab 7 runtime is running on this thread: spawn, sleep and the sockets work inside \
         Runtime::block_on (or a task it runs)",
    )
}

/// Makes a runtime the current one for the duration of a `block_on`.
struct Enter {
    previous: Option<Rc<Core>>,
}

impl Enter {
    fn new(core: Rc<Core>) -> Enter {
        let previous = CURRENT.with(|current| current.borrow_mut().replace(core));
        assert!(
            previous.is_none(),
            "block_on called inside block_on: a runtime thread must never block"
        );
        Enter { previous }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

impl Core {
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let state = Rc::new(RefCell::new(JoinState {
            output: None,
            waker: None,
        }));
        let task_state = Rc::clone(&state);
        let wrapped = async move {
            let output = future.await;
            let waker = {
                let mut state = task_state.borrow_mut();
                state.output = Some(output);
                state.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        };
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let handle = Arc::new(TaskWaker {
            id,
            scheduled: AtomicBool::new(true),
            shared: Arc::clone(&self.shared),
        });
        let task = Rc::new(Task {
            future: RefCell::new(Some(Box::pin(wrapped))),
            waker: Waker::from(Arc::clone(&handle)),
            handle,
        });
        self.tasks.borrow_mut().insert(id, task);
        self.shared.ready().push_back(id);
        JoinHandle { state }
    }

    /// Polls once every task that was ready when it started (first in, first out).
    fn run_ready(&self) {
        let mut batch = self.batch.take();
        std::mem::swap(&mut batch, &mut *self.shared.ready());
        for id in batch.drain(..) {
            if id == MAIN {
                continue;
            }
            let task = self.tasks.borrow().get(&id).cloned();
            if let Some(task) = task {
                if task.run() {
                    self.tasks.borrow_mut().remove(&id);
                }
            }
        }
        self.batch.replace(batch);
    }

    /// Waits for I/O or a timer (not at all if a task is ready), then wakes the tasks whose
    /// sources became ready and whose deadlines have passed.
    fn park(&self, main_woken: &AtomicBool) {
        self.shared.parked.store(true, Ordering::SeqCst);
        let busy = main_woken.load(Ordering::SeqCst) || !self.shared.ready().is_empty();
        let timeout = if busy {
            Some(Duration::ZERO)
        } else {
            self.timers.next_timeout(Instant::now())
        };
        let waited = self.reactor.wait(timeout);
        self.shared.parked.store(false, Ordering::SeqCst);
        if let Err(error) = waited {
            panic!("the runtime's mio::Poll failed: {error}");
        }
        self.reactor.dispatch();
        // Timers are due whatever else happened meanwhile: busy sockets must not hold them up.
        self.timers.fire(Instant::now());
    }
}

impl Task {
    /// Polls the task once; true if it has finished.
    fn run(&self) -> bool {
        // Before the poll: a wake-up during the poll must queue the task again.
        self.handle.scheduled.store(false, Ordering::Release);
        let mut slot = self.future.borrow_mut();
        let Some(future) = slot.as_mut() else {
            return true;
        };
        let mut cx = Context::from_waker(&self.waker);
        if future.as_mut().poll(&mut cx).is_pending() {
            return false;
        }
        let finished = slot.take();
        drop(slot);
        drop(finished);
        true
    }
}
