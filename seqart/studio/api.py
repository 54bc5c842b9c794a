"""The studio's JSON API, under ``/api/``: a thin HTTP layer over :class:`StudioSession`.

=======  ======================================  ==================================================
GET      /api/models                             the models, with the form fields each one takes and what it makes
POST     /api/primers?name=idea.mid              the file as the body -> the primer, as its roll draws it
GET      /api/primers/{id}                       one primer again
POST     /api/takes                              ``{model, num, options}`` -> ``{takes, warning, notice}``
GET      /api/takes/{id}                         one take as a card draws it
GET      /api/takes/{id}/download.{fmt}          its MIDI (``mid``), ``musicxml`` or ``wav`` file
POST     /api/takes/{id}/rating                  ``{rating: like|dislike|1..5}`` -> the take
GET      /api/history?limit=50&before={id}       takes of the session and of the stores, newest first, a page
GET      /api/history/{id}                       one take of the history as a card draws it (an earlier one opened)
POST     /api/history/{id}/primer                the idea the take continued, held again -> ``{primer, track}``
POST     /api/tune                               ``{model, steps, lr}`` -> the job (202), tuning in the background
GET      /api/jobs                               every job of the session, newest first
GET      /api/jobs/{id}                          one job: state, step of total, loss, result
GET      /api/jobs/{id}/events                   its progress and its end, as Server-Sent Events
POST     /api/jobs/{id}/cancel                   stop it -> the job
GET      /api/latent                             the latent models, their attribute sliders, blend and vary bounds
POST     /api/blend                              ``{a, b, steps, model}`` -> ``{takes, warning, notice}``, a to b
POST     /api/vary                               ``{take, num, amount, seed, model}`` -> the variations, the same way
POST     /api/shift                              ``{take, attribute, amount, model}`` -> one take, the same way
POST     /api/pictures                           ``{model, num, seed}`` -> ``{pictures, warning}``, an image model's grid
GET      /api/pictures/{id}.png                  one picture, at the model's size
GET      /api/pictures/{id}/download.png         the same, as a download
POST     /api/pictures/{id}/rating               ``{rating: like|dislike|1..5}`` -> the picture
POST     /api/walks                              ``{model, seed, frames}`` or ``{model, seed, take}`` -> the walk
GET      /api/walks/{id}.gif                     its animated GIF
=======  ======================================  ==================================================

A take's ``options`` may name a primer (``"primer": id``, never a path) and the track of
it to continue (``"track": 2``, numbered from 1); ``notice`` then says what line was
continued. An upload is at most 5 MB, a score or a recording whose content matches
its extension (:mod:`.uploads`), read in a child process under a time limit
(:mod:`.reading`).

A tune (:mod:`.tuning`) runs in a child process (:mod:`.jobs`), one at a time; its event
stream has ``progress`` events (``{step, total, loss, phase}``) and one ``end`` event
(the job, as ``GET /api/jobs/{id}`` gives it); a done job's ``result`` holds the new
model (offered by ``/api/models`` from then on) and the before/after figures.

Blend, vary and shift (:mod:`.latent`) read takes with a latent melody model
(``folk-vae-2bar`` unless ``model`` names another) and answer as ``POST /api/takes``
does: new takes, each a card like any other; ``notice`` says how a take was read (one
longer than the model's 8-beat span is read span by span). ``steps`` is 3-9 takes,
both ends included; ``amount`` is a variation's noise, 0-1, or a shift in attribute
vectors, -2 to 2 (1: from a typical low-quarter span of the attribute to a high-quarter one).

Pictures (:mod:`.pictures`) come from an image model (``makes: "pictures"`` in
``/api/models``; ``POST /api/takes`` refuses one): a grid whose pictures are rated like
takes, in the model's feedback store with their PNG bytes, and walks through its latent
space, a loop of ``frames`` (2-240) or, given a ``take``, in time with its notes. ``POST
/api/tune`` tunes an image model on the pictures liked (its ``features``: ``mnist-cnn`` or
``pixels``, the space its before/after distances are measured in).

The history (:mod:`.history`) lists this session's takes and every take recorded earlier
in the feedback stores of the music models it offers or uses, each with its settings, rating, model and time;
``next`` is the id to ask the following page ``before`` (null: none), ``recording`` says
whether this session records its takes (``SEQART_NO_RECORD``, ``--no-record``), ``notes``
names a store that could not be read. An earlier take, once opened, is a take like the
others under ``/api/takes/{id}/...``, its rating going to its store row.

Errors are ``{"error": one line}``: 400 for bad input (every
:class:`~seqart.errors.SeqartError`, with its own message: a bad upload, or a tune of a
model with no liked take, too), 404 for an unknown take, primer, picture, walk, job or download, 409
for a tune while another job runs. Generating, reading uploads, rendering and the
feedback store run in a worker thread, never on the event loop, so one long request
does not stop the page from drawing.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from seqart.errors import SeqartError, one_line
from seqart.studio.jobs import JobBusyError, UnknownJobError, event_stream
from seqart.studio.pictures import UnknownPictureError
from seqart.studio.primers import UnknownPrimerError
from seqart.studio.takes import DOWNLOADS, UnknownTakeError, download_name
from seqart.studio.tuning import DEFAULT_STEPS, MAX_STEPS
from seqart.studio.uploads import read_upload, upload_name

#: largest request body read, in bytes (a request is a few hundred)
MAX_BODY = 64 << 10


def error(status: int, message: str | BaseException) -> JSONResponse:
    """``{"error": message}`` on one line."""
    return JSONResponse({"error": one_line(message, 300)}, status_code=status)


def json_errors(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Turn seqart's errors into JSON answers: an unknown take or job 404, a busy studio
    409, any other 400."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except (UnknownTakeError, UnknownJobError, UnknownPictureError) as exc:
            return error(404, exc)
        except JobBusyError as exc:
            return error(409, exc)
        except SeqartError as exc:
            return error(400, exc)

    return wrapper


class BadRequest(SeqartError):
    """A request body that is not the JSON object an endpoint reads."""


async def read_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        BadRequest: for a body too large, not JSON, or not an object.
    """
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadRequest(f"the request body is too large ({len(body)} bytes; at most {MAX_BODY})")
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise BadRequest("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


def session(request: Request):
    return request.app.state.session


@json_errors
async def list_models(request: Request) -> Response:
    return JSONResponse({"models": await run_in_threadpool(session(request).models_json),
                         "tune": {"steps": DEFAULT_STEPS, "max_steps": MAX_STEPS}})


@json_errors
async def create_takes(request: Request) -> Response:
    body = await read_object(request)
    unknown = sorted(set(body) - {"model", "num", "options"})
    if unknown:
        raise BadRequest(f"unknown field {unknown[0][:40]!r}; a request has model, num and options")
    takes, warning, notice = await run_in_threadpool(session(request).generate, body.get("model"), body.get("num"),
                                                     body.get("options"))
    return JSONResponse({"takes": [t.to_json() for t in takes], "warning": warning, "notice": notice})


@json_errors
async def upload_primer(request: Request) -> Response:
    name = upload_name(request.query_params.get("name"))  # refuse a wrong kind before reading the body
    data = await read_upload(request)
    primer = await run_in_threadpool(session(request).add_primer, name, data)
    return JSONResponse(primer.to_json())


@json_errors
async def show_primer(request: Request) -> Response:
    try:
        primer = session(request).primers.get(request.path_params["primer_id"])
    except UnknownPrimerError as exc:
        return error(404, exc)
    return JSONResponse(primer.to_json())


@json_errors
async def show_take(request: Request) -> Response:
    return JSONResponse(session(request).takes.get(request.path_params["take_id"]).to_json())


@json_errors
async def download(request: Request) -> Response:
    takes = session(request).takes
    take = takes.get(request.path_params["take_id"])
    fmt = request.path_params["fmt"]
    path = await run_in_threadpool(takes.file, take, fmt)
    return FileResponse(path, media_type=DOWNLOADS[fmt][1], filename=download_name(take, fmt))


@json_errors
async def rate_take(request: Request) -> Response:
    body = await read_object(request)
    if "rating" not in body:
        raise BadRequest("a rating request has a rating: like, dislike or 1-5 stars")
    take = await run_in_threadpool(session(request).rate, request.path_params["take_id"], body["rating"])
    return JSONResponse(take.summary())


@json_errors
async def history(request: Request) -> Response:
    query = request.query_params
    return JSONResponse(await run_in_threadpool(session(request).history, query.get("limit"), query.get("before")))


@json_errors
async def open_history_take(request: Request) -> Response:
    take = await run_in_threadpool(session(request).open_take, request.path_params["take_id"])
    return JSONResponse(take.to_json())


@json_errors
async def restore_primer(request: Request) -> Response:
    primer, track = await run_in_threadpool(session(request).restore_primer, request.path_params["take_id"])
    return JSONResponse({"primer": primer.to_json(), "track": track})


@json_errors
async def start_tune(request: Request) -> Response:
    body = await read_object(request)
    job = await run_in_threadpool(session(request).start_tune, body.get("model"), body)
    return JSONResponse(job.to_json(), status_code=202)


@json_errors
async def list_jobs(request: Request) -> Response:
    return JSONResponse({"jobs": [job.to_json() for job in session(request).jobs.all()]})


@json_errors
async def show_job(request: Request) -> Response:
    return JSONResponse(session(request).jobs.get(request.path_params["job_id"]).to_json())


@json_errors
async def job_events(request: Request) -> Response:
    job = session(request).jobs.get(request.path_params["job_id"])
    stream = event_stream(job, request.headers.get("last-event-id"), getattr(request.app.state, "stopping", None))
    return StreamingResponse(stream, media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})


@json_errors
async def cancel_job(request: Request) -> Response:
    job = session(request).jobs.get(request.path_params["job_id"])
    job.cancel()
    return JSONResponse(job.to_json())


@json_errors
async def latent_models(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(session(request).latent.models_json))


@json_errors
async def create_pictures(request: Request) -> Response:
    body = await read_object(request)
    pictures, warning = await run_in_threadpool(session(request).pictures.sample, body)
    return JSONResponse({"pictures": [p.to_json() for p in pictures], "warning": warning})


@json_errors
async def show_picture(request: Request) -> Response:
    picture = session(request).pictures.get(request.path_params["picture_id"])
    return FileResponse(picture.path, media_type="image/png")


@json_errors
async def download_picture(request: Request) -> Response:
    picture = session(request).pictures.get(request.path_params["picture_id"])
    return FileResponse(picture.path, media_type="image/png", filename=picture.download_name())


@json_errors
async def rate_picture(request: Request) -> Response:
    body = await read_object(request)
    if "rating" not in body:
        raise BadRequest("a rating request has a rating: like, dislike or 1-5 stars")
    picture = await run_in_threadpool(session(request).pictures.rate, request.path_params["picture_id"],
                                      body["rating"])
    return JSONResponse(picture.to_json())


@json_errors
async def create_walk(request: Request) -> Response:
    body = await read_object(request)
    walk = await run_in_threadpool(session(request).pictures.walk, body)
    return JSONResponse(walk.to_json())


@json_errors
async def show_walk(request: Request) -> Response:
    walk = session(request).pictures.get_walk(request.path_params["walk_id"])
    return FileResponse(walk.path, media_type="image/gif", filename=walk.download_name(),
                        content_disposition_type="inline")


def latent_route(verb: str) -> Callable[[Request], Awaitable[Response]]:
    """The handler of ``POST /api/<verb>``: the body to :class:`~seqart.studio.latent.LatentStudio`'s
    method of that name, its takes back as ``POST /api/takes`` gives them."""

    @json_errors
    async def handler(request: Request) -> Response:
        body = await read_object(request)
        takes, warning, notice = await run_in_threadpool(getattr(session(request).latent, verb), body)
        return JSONResponse({"takes": [t.to_json() for t in takes], "warning": warning, "notice": notice})

    handler.__name__ = f"latent_{verb}"
    return handler


routes = [
    Route("/api/models", list_models, methods=["GET"]),
    Route("/api/primers", upload_primer, methods=["POST"]),
    Route("/api/primers/{primer_id}", show_primer, methods=["GET"]),
    Route("/api/takes", create_takes, methods=["POST"]),
    Route("/api/takes/{take_id}", show_take, methods=["GET"]),
    Route("/api/takes/{take_id}/download.{fmt}", download, methods=["GET"]),
    Route("/api/takes/{take_id}/rating", rate_take, methods=["POST"]),
    Route("/api/history", history, methods=["GET"]),
    Route("/api/history/{take_id}", open_history_take, methods=["GET"]),
    Route("/api/history/{take_id}/primer", restore_primer, methods=["POST"]),
    Route("/api/tune", start_tune, methods=["POST"]),
    Route("/api/jobs", list_jobs, methods=["GET"]),
    Route("/api/jobs/{job_id}", show_job, methods=["GET"]),
    Route("/api/jobs/{job_id}/events", job_events, methods=["GET"]),
    Route("/api/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route("/api/latent", latent_models, methods=["GET"]),
    *(Route(f"/api/{verb}", latent_route(verb), methods=["POST"]) for verb in ("blend", "vary", "shift")),
    Route("/api/pictures", create_pictures, methods=["POST"]),
    Route("/api/pictures/{picture_id}.png", show_picture, methods=["GET"]),
    Route("/api/pictures/{picture_id}/download.png", download_picture, methods=["GET"]),
    Route("/api/pictures/{picture_id}/rating", rate_picture, methods=["POST"]),
    Route("/api/walks", create_walk, methods=["POST"]),
    Route("/api/walks/{walk_id}.gif", show_walk, methods=["GET"]),
]
