//! Recordings: list, fetch (JSON or media), and delete.

use super::{Ctx, newest_first};
use crate::errors::ApiError;
use crate::filters::{DateFilter, exact};
use crate::pagination::list_reply;
use crate::reply::Reply;
use crate::resources::Identified;
use crate::resources::recording::Recording;

/// A short silent WAV file (8 kHz, 8-bit mono, 0.1 s).
fn wav_bytes() -> Vec<u8> {
    const SAMPLES: u32 = 800;
    let mut wav = Vec::with_capacity(44 + SAMPLES as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + SAMPLES).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&SAMPLES.to_le_bytes());
    wav.resize(44 + SAMPLES as usize, 0x80);
    wav
}

/// A minimal MP3 stand-in: an ID3v2 header and one silent MPEG frame header.
const MP3_BYTES: &[u8] = &[
    b'I', b'D', b'3', 4, 0, 0, 0, 0, 0, 0, 0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0,
];

/// The live (not deleted) recording `sid`, optionally required to belong to `call`.
fn find<'a>(
    ctx: &'a mut Ctx<'_>,
    call: Option<&str>,
    sid: &str,
) -> Result<&'a mut Recording, ApiError> {
    let path = &ctx.request.path;
    ctx.data
        .recordings
        .iter_mut()
        .find(|r| r.sid() == sid && !r.deleted && call.is_none_or(|c| c == r.call_sid))
        .ok_or_else(|| ApiError::not_found(path))
}

/// `GET …/Recordings.json` (or `…/Calls/{CallSid}/Recordings.json`) with `CallSid`,
/// `ConferenceSid`, `DateCreated[<>]`, `IncludeSoftDeleted`, newest first.
pub(crate) fn list(ctx: Ctx<'_>, call: Option<&str>) -> Result<Reply, ApiError> {
    let request = ctx.request;
    let created = DateFilter::parse(request, "DateCreated")?;
    let include_deleted = request
        .query_param("IncludeSoftDeleted")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let matching: Vec<&Recording> = newest_first(&ctx.data.recordings, |r| r.date_created)
        .into_iter()
        .filter(|r| {
            (include_deleted || !r.deleted)
                && call.is_none_or(|c| c == r.call_sid)
                && exact(request, "CallSid", Some(&r.call_sid))
                && exact(request, "ConferenceSid", None)
                && created.matches(Some(r.date_created))
        })
        .collect();
    list_reply(request, "recordings", &matching, |r| {
        r.to_json(ctx.api_base)
    })
}

/// `GET …/Recordings/{Sid}.json` (metadata), `.wav` or `.mp3` (media).
pub(crate) fn fetch(mut ctx: Ctx<'_>, call: Option<&str>, file: &str) -> Result<Reply, ApiError> {
    let (api_base, request) = (ctx.api_base, ctx.request);
    let (sid, extension) = file
        .rsplit_once('.')
        .ok_or_else(|| ApiError::not_found(&request.path))?;
    let recording = find(&mut ctx, call, sid)?;
    match extension {
        "json" => Ok(Reply::json(200, &recording.to_json(api_base))),
        "wav" => Ok(Reply::raw(200, "audio/x-wav", wav_bytes())),
        "mp3" => Ok(Reply::raw(200, "audio/mpeg", MP3_BYTES)),
        _ => Err(ApiError::not_found(&request.path)),
    }
}

/// `DELETE …/Recordings/{Sid}.json` -> 204 with no body; later reads answer 404.
pub(crate) fn delete(mut ctx: Ctx<'_>, call: Option<&str>, sid: &str) -> Result<Reply, ApiError> {
    find(&mut ctx, call, sid)?.deleted = true;
    Ok(Reply::empty(204))
}
