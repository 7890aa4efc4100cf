//! Submitting a job: an authorised client sends a [`Submission`] on a stream of its own,
//! gets the job id back, and waits for the outcome, reconnecting and asking again by job
//! id if the aggregator restarts meanwhile.

use crate::error::TransportError;
use crate::frame::{DEFAULT_MAX_BULK, Frame, FrameType, read_frame, send_bulk, write_frame};
use crate::peer::{PeerSettings, SessionError, open_session};
use crate::tls::PeerRole;
use crate::wire::{JobOutcome, Submission, job_id_from_bytes, parse_outcome_frame};
use std::time::{Duration, Instant};
use tutti_protocol::envelope::JobId;

/// Submits a job and waits up to `deadline` for its outcome. `on_accepted` is called
/// with the job id once the aggregator has recorded the job.
pub async fn submit_job(
    settings: &PeerSettings,
    submission: &Submission,
    deadline: Duration,
    mut on_accepted: impl FnMut(&JobId),
) -> Result<(JobId, JobOutcome), TransportError> {
    let until = Instant::now() + deadline;
    let payload = submission.to_bytes();
    let mut job: Option<JobId> = None;
    loop {
        if Instant::now() >= until {
            return Err(TransportError::Job(match job {
                Some(id) => format!(
                    "no outcome for job {} within {deadline:?}",
                    crate::aggregator::hex(&id)
                ),
                None => format!("the job could not be submitted within {deadline:?}"),
            }));
        }
        let mut session = match open_session(settings, PeerRole::Client, Vec::new()).await {
            Ok(s) => s,
            Err(SessionError::Refused(why)) => {
                return Err(TransportError::Auth(format!(
                    "the aggregator refused this client: {why}"
                )));
            }
            Err(SessionError::Failed(e)) => {
                tracing::warn!("cannot reach the aggregator: {e}; retrying");
                tokio::time::sleep(settings.retry).await;
                continue;
            }
        };
        let attempt = async {
            match job {
                None => {
                    send_bulk(
                        &session.conn,
                        &Frame::new(FrameType::Submit, payload.clone()),
                    )
                    .await?;
                }
                Some(id) => {
                    write_frame(
                        &mut session.send,
                        &Frame::new(FrameType::Await, id.to_vec()),
                    )
                    .await?;
                }
            }
            loop {
                let frame = read_frame(
                    &mut session.recv,
                    &[FrameType::Accepted, FrameType::Outcome, FrameType::Goodbye],
                    DEFAULT_MAX_BULK,
                )
                .await?
                .ok_or_else(|| {
                    TransportError::Connection("the aggregator closed the stream".into())
                })?;
                match frame.kind {
                    FrameType::Accepted => {
                        let id = job_id_from_bytes(&frame.payload)?;
                        job = Some(id);
                        on_accepted(&id);
                    }
                    FrameType::Outcome => {
                        let (id, outcome) = parse_outcome_frame(&frame.payload)?;
                        // Before acceptance only a refusal (all-zero id) is ours; after,
                        // only our job's outcome (other jobs of this client may finish).
                        if job.unwrap_or([0u8; 32]) == id {
                            return Ok::<_, TransportError>((id, outcome));
                        }
                    }
                    _ => {
                        return Err(TransportError::Connection(format!(
                            "the aggregator said goodbye: {}",
                            String::from_utf8_lossy(&frame.payload)
                        )));
                    }
                }
            }
        };
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, attempt).await {
            Ok(Ok(done)) => {
                session.conn.close(0u32.into(), b"done");
                return Ok(done);
            }
            Ok(Err(e)) => {
                tracing::warn!("lost the aggregator while waiting: {e}; reconnecting");
                tokio::time::sleep(settings.retry).await;
            }
            Err(_) => continue,
        }
    }
}
