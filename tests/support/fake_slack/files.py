"""files_upload_v2's three steps: files.getUploadURLExternal, the upload URL, files.completeUploadExternal."""

from __future__ import annotations

import copy
import dataclasses
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.records import Outcome, UploadedFile
from tests.support.fake_slack.state import FakeState
from tests.support.fake_slack.wire import as_int
from tests.support.fake_slack.workspace import BOT_USER_ID, UPLOAD_PATH

if TYPE_CHECKING:
    from tests.support.fake_slack.faults import Fault


class FilesMethods(FakeState):
    """Uploads: the bytes kept, shared in a channel (or a thread) on completion."""

    if TYPE_CHECKING:  # FaultInjection's, beside this class in FakeSlack

        def _take_fault(self, kind: str, method: str, params: Mapping[str, Any]) -> Fault | None: ...

    def files(self, channel: str | None = None) -> list[UploadedFile]:
        """Uploaded files (those shared in `channel`, if given), in upload order."""
        with self._cond:
            return [
                dataclasses.replace(f)
                for f in self._files.values()
                if channel is None or (f.completed and f.channel == channel)
            ]

    def _files_get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        """Step 1 of an upload (scope files:write): a file id and the URL to send its bytes to."""
        self._require_scope("files:write")
        filename = p.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: filename"])
        length = as_int(p.get("length"), -1)
        if length < 1:
            raise ApiError("invalid_arguments", ["[ERROR] length must be a positive integer"])
        file_id = f"F{len(self._files) + 1:06d}{secrets.token_hex(2).upper()}"
        token = secrets.token_hex(8)
        self._files[file_id] = UploadedFile(file_id, filename, length)
        self._uploads[token] = file_id
        return {"upload_url": f"{self.url}{UPLOAD_PATH}{token}", "file_id": file_id}

    def _file_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        """Step 2: the bytes, POSTed to the upload URL (answered with plain text, like Slack)."""
        file_id = self._uploads.get(str(p.get("token")))
        if file_id is None:
            raise ApiError("upload_url_not_found", status=404)
        upload = self._files[file_id]
        content = p.get("content") or b""
        if len(content) != upload.length:
            raise ApiError("length_mismatch", status=400)
        upload.content = bytes(content)
        return {}

    def _files_complete_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        """Step 3: share the uploaded files in `channel_id` (a thread with `thread_ts`)."""
        self._require_scope("files:write")
        items = p.get("files")
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments", ["[ERROR] files must be a non-empty JSON array"])
        uploads: list[tuple[UploadedFile, dict[str, Any]]] = []
        for item in items:
            upload = self._files.get(item.get("id", "")) if isinstance(item, dict) else None  # no file has id ""
            if upload is None:
                raise ApiError("file_not_found")
            if upload.content is None:
                raise ApiError("file_upload_not_completed")
            uploads.append((upload, item))
        chan = self._channel({"channel": p["channel_id"]}) if p.get("channel_id") else None
        thread_ts = None
        if chan is not None and p.get("thread_ts"):
            thread_ts = self._thread_root(chan, str(p["thread_ts"]))
        shared = []
        for upload, item in uploads:
            upload.title = str(item.get("title") or upload.filename)
            upload.completed = True
            if chan is not None:
                upload.channel, upload.thread_ts = chan.id, thread_ts
            upload.initial_comment = p.get("initial_comment") or None
            shared.append({"id": upload.id, "name": upload.filename, "title": upload.title, "size": upload.length})
        if chan is not None:
            message = self._store(chan, text=str(p.get("initial_comment") or ""), user=BOT_USER_ID, thread_ts=thread_ts)
            message["files"] = copy.deepcopy(shared)
            message["upload"] = True
        return {"files": shared}

    def _upload_post(self, params: dict[str, Any]) -> Outcome:
        """The upload URL: no token (the URL is the credential), a plain-text answer."""
        if self._take_fault("fail", "file_upload", params):
            return Outcome(500, "upload failed", fault="failed")
        try:
            self._file_upload(params)
        except ApiError as exc:
            return Outcome(exc.status, exc.error)
        return Outcome(200, f"OK - {len(params.get('content') or b'')}")
