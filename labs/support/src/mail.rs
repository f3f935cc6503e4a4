//! The mail services of labs 3 to 5: the lecture's "Dan the Database" example.
//!
//! Adding an email to an inbox takes three calls to slow services and one check in between:
//!
//! 1. [`MailService::load_message`]: fetch the message,
//! 2. [`MailService::get_recipient`]: fetch the recipient,
//! 3. [`Recipient::verify_has_space`]: check that the message fits in the inbox,
//! 4. [`MailService::deliver`]: put it there (the slide's `addToInbox`).
//!
//! Each call returns a future. The labs chain them: by hand as a state machine (lab 3), with
//! combinators (lab 4), and with `async`/`.await` (lab 5). In the tests, the services are a
//! [`MockMail`]: you choose how long each call takes and whether it fails, and afterwards it
//! tells you which calls were made, in which order, and how often their futures were polled.

use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

/// An email, as the message store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: u64,
    pub body: String,
}

impl Message {
    pub fn new(id: u64, body: impl Into<String>) -> Message {
        Message {
            id,
            body: body.into(),
        }
    }

    /// The space the message takes in an inbox, in bytes.
    pub fn size(&self) -> usize {
        self.body.len()
    }
}

/// The owner of an inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub id: u64,
    pub name: String,
    /// Free space left in the inbox, in bytes.
    pub free_space: usize,
}

impl Recipient {
    pub fn new(id: u64, name: impl Into<String>, free_space: usize) -> Recipient {
        Recipient {
            id,
            name: name.into(),
            free_space,
        }
    }

    /// `Ok(())` if `message` fits in this recipient's inbox, else [`MailError::InboxFull`].
    /// A quick, synchronous check: no future involved.
    pub fn verify_has_space(&self, message: &Message) -> Result<(), MailError> {
        if message.size() <= self.free_space {
            Ok(())
        } else {
            Err(MailError::InboxFull {
                recipient: self.id,
                free_space: self.free_space,
                needed: message.size(),
            })
        }
    }
}

/// Why a mail operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailError {
    /// `load_message` found no message with this id.
    NoSuchMessage(u64),
    /// `get_recipient` found no recipient with this id.
    NoSuchRecipient(u64),
    /// [`Recipient::verify_has_space`]: the message does not fit.
    InboxFull {
        recipient: u64,
        free_space: usize,
        needed: usize,
    },
    /// The service is down, or failed in some other way.
    Unavailable(String),
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailError::NoSuchMessage(id) => write!(f, "no message with id {id}"),
            MailError::NoSuchRecipient(id) => write!(f, "no recipient with id {id}"),
            MailError::InboxFull {
                recipient,
                free_space,
                needed,
            } => write!(
                f,
                "the inbox of recipient {recipient} has {free_space} bytes free, the message needs {needed}"
            ),
            MailError::Unavailable(why) => write!(f, "the mail service is unavailable: {why}"),
        }
    }
}

impl Error for MailError {}

/// The slow services behind the mail example ("Dan the Database"). Every method returns at once
/// with a future; the work happens when the future is polled.
pub trait MailService: Clone + Send + 'static {
    type LoadMessage: Future<Output = Result<Message, MailError>> + Send + Unpin;
    type GetRecipient: Future<Output = Result<Recipient, MailError>> + Send + Unpin;
    type Deliver: Future<Output = Result<(), MailError>> + Send + Unpin;
    fn load_message(&self, email_id: u64) -> Self::LoadMessage;
    fn get_recipient(&self, recipient_id: u64) -> Self::GetRecipient;
    /// The slide's `addToInbox`: puts `message` into the inbox of `recipient`.
    fn deliver(&self, recipient: Recipient, message: Message) -> Self::Deliver;
}

/// One of the three services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    LoadMessage,
    GetRecipient,
    Deliver,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::LoadMessage => "load_message",
            Service::GetRecipient => "get_recipient",
            Service::Deliver => "deliver",
        })
    }
}

/// A call made to a [`MockMail`], with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    LoadMessage { email_id: u64 },
    GetRecipient { recipient_id: u64 },
    Deliver { recipient_id: u64, email_id: u64 },
}

impl Call {
    /// The service this call went to.
    pub fn service(&self) -> Service {
        match self {
            Call::LoadMessage { .. } => Service::LoadMessage,
            Call::GetRecipient { .. } => Service::GetRecipient,
            Call::Deliver { .. } => Service::Deliver,
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::LoadMessage { email_id } => write!(f, "load_message({email_id})"),
            Call::GetRecipient { recipient_id } => write!(f, "get_recipient({recipient_id})"),
            Call::Deliver {
                recipient_id,
                email_id,
            } => write!(f, "deliver(recipient {recipient_id}, message {email_id})"),
        }
    }
}

/// What a [`MockMail`] saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A service method was called (its future was created).
    Called(Call),
    /// The future of a call returned `Ready` for the first time; `ok` tells whether with `Ok`.
    Finished { call: Call, ok: bool },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Called(call) => write!(f, "called {call}"),
            Event::Finished { call, ok: true } => write!(f, "{call} finished with Ok"),
            Event::Finished { call, ok: false } => write!(f, "{call} finished with Err"),
        }
    }
}

/// How long the future of a [`MockMail`] call takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// `Ready` on its first poll.
    Immediate,
    /// `Pending` on its first `n` polls (waking its task each time, so the executor polls it
    /// again), `Ready` on the next one.
    AfterPolls(usize),
    /// `Pending` until a timer thread wakes it, this long after its first poll. The timer wakes
    /// the waker of the future's latest poll; the future is `Ready` on the next poll after that.
    AfterDelay(Duration),
}

/// How every call of one service answers.
#[derive(Debug, Clone)]
struct Plan {
    timing: Timing,
    failure: Option<MailError>,
}

/// Per-service poll counts.
#[derive(Debug, Default, Clone, Copy)]
struct PollCounts {
    polls: usize,
    after_completion: usize,
}

#[derive(Debug)]
struct Inner {
    messages: HashMap<u64, Message>,
    recipients: HashMap<u64, Recipient>,
    plans: HashMap<Service, Plan>,
    events: Vec<Event>,
    polls: HashMap<Service, PollCounts>,
    delivered: Vec<(u64, Message)>,
}

/// A [`MailService`] for tests. Clones share everything: keep one and hand another to the code
/// under test, then ask yours what happened.
///
/// ```
/// use std::time::Duration;
/// use support::mail::{MailService, Message, MockMail, Recipient, Service, Timing};
///
/// let mail = MockMail::new()
///     .with_message(Message::new(1, "hello"))
///     .with_recipient(Recipient::new(7, "Ada", 1024))
///     .answer(Service::LoadMessage, Timing::AfterPolls(2))
///     .answer(Service::GetRecipient, Timing::AfterDelay(Duration::from_millis(10)));
/// let _future = mail.load_message(1);
/// assert_eq!(mail.calls_of(Service::LoadMessage), 1);
/// assert_eq!(mail.polls(Service::LoadMessage), 0, "futures do nothing until polled");
/// ```
#[derive(Clone)]
pub struct MockMail {
    inner: Arc<Mutex<Inner>>,
}

impl Default for MockMail {
    fn default() -> Self {
        MockMail::new()
    }
}

impl fmt::Debug for MockMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockMail")
            .field("events", &self.lock().events)
            .finish_non_exhaustive()
    }
}

impl MockMail {
    /// No messages, no recipients, and every call answers [`Timing::Immediate`].
    pub fn new() -> MockMail {
        MockMail {
            inner: Arc::new(Mutex::new(Inner {
                messages: HashMap::new(),
                recipients: HashMap::new(),
                plans: HashMap::new(),
                events: Vec::new(),
                polls: HashMap::new(),
                delivered: Vec::new(),
            })),
        }
    }

    /// Adds a message that `load_message(message.id)` finds.
    pub fn with_message(self, message: Message) -> MockMail {
        self.lock().messages.insert(message.id, message);
        self
    }

    /// Adds a recipient that `get_recipient(recipient.id)` finds.
    pub fn with_recipient(self, recipient: Recipient) -> MockMail {
        self.lock().recipients.insert(recipient.id, recipient);
        self
    }

    /// Calls of `service` from now on take `timing`.
    pub fn answer(self, service: Service, timing: Timing) -> MockMail {
        self.lock().plan(service).timing = timing;
        self
    }

    /// Calls of `service` from now on fail with `error` (after their timing).
    pub fn fail(self, service: Service, error: MailError) -> MockMail {
        self.lock().plan(service).failure = Some(error);
        self
    }

    /// Every call so far, in the order they were made.
    pub fn calls(&self) -> Vec<Call> {
        self.lock()
            .events
            .iter()
            .filter_map(|event| match event {
                Event::Called(call) => Some(call.clone()),
                Event::Finished { .. } => None,
            })
            .collect()
    }

    /// How many calls `service` got.
    pub fn calls_of(&self, service: Service) -> usize {
        self.calls()
            .iter()
            .filter(|call| call.service() == service)
            .count()
    }

    /// Calls and completions so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// The events as one line each, for assertion messages.
    pub fn journal(&self) -> String {
        let events = self.events();
        if events.is_empty() {
            return "  (no calls)".to_string();
        }
        events
            .iter()
            .map(|event| format!("  {event}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Polls of the futures of `service`'s calls so far.
    pub fn polls(&self, service: Service) -> usize {
        self.lock().counts(service).polls
    }

    /// Polls of `service`'s futures after they had returned `Ready`: never right. (A mock
    /// future answers such a poll with its result again, so that the mistake can be counted.)
    pub fn polls_after_completion(&self, service: Service) -> usize {
        self.lock().counts(service).after_completion
    }

    /// Messages delivered so far, with the id of the recipient whose inbox got them.
    pub fn delivered(&self) -> Vec<(u64, Message)> {
        self.lock().delivered.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the call and makes its future, whose result is `result` unless the service
    /// is set to fail.
    fn call<T: Clone>(
        &self,
        call: Call,
        result: impl FnOnce(&Inner) -> Result<T, MailError>,
    ) -> MockCall<T> {
        let mut inner = self.lock();
        let plan = inner.plan(call.service()).clone();
        let result = match plan.failure {
            Some(error) => Err(error),
            None => result(&inner),
        };
        inner.events.push(Event::Called(call.clone()));
        MockCall {
            mail: self.clone(),
            call,
            timing: plan.timing,
            result,
            polls: 0,
            timer: None,
            finished: false,
            delivery: None,
        }
    }
}

impl Inner {
    fn plan(&mut self, service: Service) -> &mut Plan {
        self.plans.entry(service).or_insert(Plan {
            timing: Timing::Immediate,
            failure: None,
        })
    }

    fn counts(&self, service: Service) -> PollCounts {
        self.polls.get(&service).copied().unwrap_or_default()
    }
}

impl MailService for MockMail {
    type LoadMessage = MockCall<Message>;
    type GetRecipient = MockCall<Recipient>;
    type Deliver = MockCall<()>;

    fn load_message(&self, email_id: u64) -> MockCall<Message> {
        self.call(Call::LoadMessage { email_id }, |inner| {
            inner
                .messages
                .get(&email_id)
                .cloned()
                .ok_or(MailError::NoSuchMessage(email_id))
        })
    }

    fn get_recipient(&self, recipient_id: u64) -> MockCall<Recipient> {
        self.call(Call::GetRecipient { recipient_id }, |inner| {
            inner
                .recipients
                .get(&recipient_id)
                .cloned()
                .ok_or(MailError::NoSuchRecipient(recipient_id))
        })
    }

    fn deliver(&self, recipient: Recipient, message: Message) -> MockCall<()> {
        let call = Call::Deliver {
            recipient_id: recipient.id,
            email_id: message.id,
        };
        // Delivery itself does not check the space: that is the caller's job.
        let mut future = self.call(call, |_| Ok(()));
        future.delivery = Some((recipient.id, message));
        future
    }
}

/// What a delayed call and its timer thread share.
#[derive(Debug, Default)]
struct TimerSlot {
    fired: bool,
    waker: Option<Waker>,
}

/// The future of a [`MockMail`] call.
#[must_use = "futures do nothing unless polled"]
pub struct MockCall<T> {
    mail: MockMail,
    call: Call,
    timing: Timing,
    result: Result<T, MailError>,
    polls: usize,
    timer: Option<Arc<Mutex<TimerSlot>>>,
    finished: bool,
    /// For `deliver`: what lands in which inbox when the call succeeds.
    delivery: Option<(u64, Message)>,
}

impl<T> fmt::Debug for MockCall<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockCall")
            .field("call", &self.call)
            .field("timing", &self.timing)
            .field("polls", &self.polls)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<T: Clone> MockCall<T> {
    /// Whether this poll finds the call done; arranges the wake-up if not.
    fn is_done(&mut self, cx: &mut Context<'_>) -> bool {
        match self.timing {
            Timing::Immediate => true,
            Timing::AfterPolls(pending) => {
                if self.polls > pending {
                    true
                } else {
                    cx.waker().wake_by_ref();
                    false
                }
            }
            Timing::AfterDelay(delay) => match &self.timer {
                Some(slot) => {
                    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                    if slot.fired {
                        true
                    } else {
                        // Always the waker of the latest poll: the task may have moved.
                        slot.waker = Some(cx.waker().clone());
                        false
                    }
                }
                None => {
                    let slot = Arc::new(Mutex::new(TimerSlot {
                        fired: false,
                        waker: Some(cx.waker().clone()),
                    }));
                    self.timer = Some(Arc::clone(&slot));
                    // A sleeping thread per delayed mock call keeps the mock simple; the tests
                    // make only a few of them.
                    thread::Builder::new()
                        .name("mock-mail-timer".into())
                        .spawn(move || {
                            thread::sleep(delay);
                            let waker = {
                                let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                                slot.fired = true;
                                slot.waker.take()
                            };
                            if let Some(waker) = waker {
                                waker.wake();
                            }
                        })
                        .expect("starting a mock mail timer thread");
                    false
                }
            },
        }
    }
}

impl<T: Clone + Unpin> Future for MockCall<T> {
    type Output = Result<T, MailError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let service = this.call.service();
        {
            let mut inner = this.mail.lock();
            let counts = inner.polls.entry(service).or_default();
            counts.polls += 1;
            if this.finished {
                counts.after_completion += 1;
                return Poll::Ready(this.result.clone());
            }
        }
        this.polls += 1;
        if !this.is_done(cx) {
            return Poll::Pending;
        }
        this.finished = true;
        let mut inner = this.mail.lock();
        inner.events.push(Event::Finished {
            call: this.call.clone(),
            ok: this.result.is_ok(),
        });
        if this.result.is_ok() {
            if let Some(delivery) = this.delivery.take() {
                inner.delivered.push(delivery);
            }
        }
        Poll::Ready(this.result.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::CountingWaker;
    use std::time::Instant;

    fn mail() -> MockMail {
        MockMail::new()
            .with_message(Message::new(1, "hello, world"))
            .with_recipient(Recipient::new(7, "Ada", 100))
            .with_recipient(Recipient::new(8, "Bob", 5))
    }

    fn poll<F: Future + Unpin>(future: &mut F, waker: &Arc<CountingWaker>) -> Poll<F::Output> {
        waker.poll(Pin::new(future))
    }

    #[test]
    fn verify_has_space_compares_the_message_size_with_the_free_space() {
        let message = Message::new(1, "hello, world");
        assert_eq!(message.size(), 12);
        assert_eq!(
            Recipient::new(7, "Ada", 12).verify_has_space(&message),
            Ok(())
        );
        let full = Recipient::new(8, "Bob", 11).verify_has_space(&message);
        assert_eq!(
            full,
            Err(MailError::InboxFull {
                recipient: 8,
                free_space: 11,
                needed: 12
            })
        );
        assert!(full.unwrap_err().to_string().contains("11 bytes free"));
    }

    #[test]
    fn immediate_calls_answer_on_the_first_poll_and_are_journaled() {
        let mail = mail();
        let waker = CountingWaker::new();
        let mut load = mail.load_message(1);
        let mut missing = mail.get_recipient(9);
        assert_eq!(
            poll(&mut load, &waker),
            Poll::Ready(Ok(Message::new(1, "hello, world")))
        );
        assert_eq!(
            poll(&mut missing, &waker),
            Poll::Ready(Err(MailError::NoSuchRecipient(9)))
        );
        assert_eq!(
            mail.events(),
            vec![
                Event::Called(Call::LoadMessage { email_id: 1 }),
                Event::Called(Call::GetRecipient { recipient_id: 9 }),
                Event::Finished {
                    call: Call::LoadMessage { email_id: 1 },
                    ok: true
                },
                Event::Finished {
                    call: Call::GetRecipient { recipient_id: 9 },
                    ok: false
                },
            ]
        );
        assert!(mail.journal().contains("called get_recipient(9)"));
        assert_eq!(waker.wakes(), 0);
    }

    #[test]
    fn after_polls_is_pending_that_often_waking_each_time() {
        let mail = mail().answer(Service::LoadMessage, Timing::AfterPolls(2));
        let waker = CountingWaker::new();
        let mut load = mail.load_message(1);
        assert!(poll(&mut load, &waker).is_pending());
        assert!(poll(&mut load, &waker).is_pending());
        assert_eq!(waker.wakes(), 2);
        assert!(poll(&mut load, &waker).is_ready());
        assert_eq!(mail.polls(Service::LoadMessage), 3);
        assert_eq!(mail.polls_after_completion(Service::LoadMessage), 0);
        assert!(poll(&mut load, &waker).is_ready());
        assert_eq!(mail.polls_after_completion(Service::LoadMessage), 1);
        assert_eq!(
            mail.events().len(),
            2,
            "a completion is journaled only once"
        );
    }

    #[test]
    fn after_delay_wakes_the_latest_waker_from_a_timer_thread() {
        let mail = mail().answer(
            Service::GetRecipient,
            Timing::AfterDelay(Duration::from_millis(30)),
        );
        let first = CountingWaker::new();
        let latest = CountingWaker::new();
        let started = Instant::now();
        let mut get = mail.get_recipient(7);
        assert!(poll(&mut get, &first).is_pending());
        assert!(poll(&mut get, &latest).is_pending());
        assert!(latest.wait_for_wakes(1, Duration::from_secs(5)));
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(first.wakes(), 0);
        assert_eq!(
            poll(&mut get, &latest),
            Poll::Ready(Ok(Recipient::new(7, "Ada", 100)))
        );
    }

    #[test]
    fn failures_and_deliveries_are_reported() {
        let down = MailError::Unavailable("Dan the Database is on holiday".into());
        let mail = mail().fail(Service::LoadMessage, down.clone());
        let waker = CountingWaker::new();
        assert_eq!(
            poll(&mut mail.load_message(1), &waker),
            Poll::Ready(Err(down))
        );
        let mut deliver = mail.deliver(Recipient::new(7, "Ada", 100), Message::new(1, "x"));
        assert_eq!(mail.delivered(), vec![]);
        assert_eq!(poll(&mut deliver, &waker), Poll::Ready(Ok(())));
        assert_eq!(mail.delivered(), vec![(7, Message::new(1, "x"))]);
        assert_eq!(mail.calls_of(Service::Deliver), 1);
        assert_eq!(
            mail.calls(),
            vec![
                Call::LoadMessage { email_id: 1 },
                Call::Deliver {
                    recipient_id: 7,
                    email_id: 1
                }
            ]
        );
    }

    #[test]
    fn clones_share_the_journal_and_futures_are_send_and_unpin() {
        fn send_unpin<T: Send + Unpin>(_: &T) {}
        let mail = mail();
        let theirs = mail.clone();
        let future = theirs.deliver(Recipient::new(8, "Bob", 5), Message::new(1, "hi"));
        send_unpin(&future);
        assert_eq!(mail.calls_of(Service::Deliver), 1);
    }
}
