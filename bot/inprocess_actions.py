"""Custom actions run inside the Rasa server process instead of over HTTP.

Rasa OSS 3.6 always calls custom actions over HTTP: it serialises the tracker,
posts it to the action server, which parses it, runs the action and serialises
the answer back. For this assistant that round trip was a large share of the
webhook's time per message. Rasa Pro 3.10 added the same remedy under the same
key, ``actions_module``; here it is for 3.6::

    action_endpoint:
      url: "http://127.0.0.1:5055/webhook"   # for the stock `rasa` CLI tools
      actions_module: bot.actions            # `python -m bot.server` runs these in-process

Everything after the HTTP call is unchanged: Rasa still validates the response
against its schema, deserialises the events and renders the responses, and the
request and the answer still pass through JSON, so an action sees a private copy
of the tracker and cannot hand back anything the HTTP path would refuse. Errors
map to what the action server would have answered (400 rejection, 404 unknown
action, 500 failure), so Rasa handles them exactly as it does over HTTP.
"""

from __future__ import annotations

import importlib
import json
import logging
from typing import Any

from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

log = logging.getLogger(__name__)

ACTIONS_MODULE_KEY = "actions_module"


class InProcessActionEndpoint(EndpointConfig):
    """An action endpoint whose "request" runs the rasa-sdk executor in this process."""

    def __init__(self, actions_module: str, url: str | None = None, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.actions_module = actions_module
        try:  # rasa-sdk only logs a module it cannot import; a typo must stop the start-up instead
            importlib.import_module(actions_module)
        except ImportError as error:
            raise ValueError(f"cannot import the actions module {actions_module!r}: {error}") from error
        self.executor = ActionExecutor()
        self.executor.register_package(actions_module)

    @classmethod
    def from_endpoint(cls, endpoint: EndpointConfig) -> EndpointConfig:
        """The in-process endpoint when endpoints.yml names an actions module, else the endpoint as it is."""
        options = dict(endpoint.kwargs)
        module = options.pop(ACTIONS_MODULE_KEY, None)
        if not module:
            return endpoint
        return cls(
            module,
            endpoint.url,
            params=endpoint.params,
            headers=endpoint.headers,
            basic_auth=endpoint.basic_auth,
            token=endpoint.token,
            token_name=endpoint.token_name,
            **options,
        )

    def copy(self) -> InProcessActionEndpoint:
        return self

    async def request(
        self,
        method: str = "post",
        subpath: str | None = None,
        content_type: str | None = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Any:
        action_call = json.loads(json.dumps(kwargs.get("json") or {}))
        name = action_call.get("next_action", "")
        try:
            result = await self.executor.run(action_call)
        except ActionExecutionRejection as error:
            body = {"error": error.message, "action_name": error.action_name}
            raise ClientResponseError(400, "Bad Request", json.dumps(body)) from error
        except ActionNotFoundException as error:
            body = {"error": error.message, "action_name": error.action_name}
            raise ClientResponseError(404, "Not Found", json.dumps(body)) from error
        except Exception as error:
            log.exception("actions.inprocess.failed action=%s", name)
            raise ClientResponseError(500, "Internal Server Error", str(error)) from error
        return json.loads(json.dumps(result))


def use_inprocess_actions() -> None:
    """Make every endpoints file read by this process honour ``actions_module``."""
    from rasa.core.utils import AvailableEndpoints

    read_endpoints = AvailableEndpoints.read_endpoints.__func__  # type: ignore[attr-defined]

    def read_with_inprocess_actions(cls: type[AvailableEndpoints], endpoint_file: str) -> AvailableEndpoints:
        endpoints = read_endpoints(cls, endpoint_file)
        if endpoints.action is not None:
            endpoints.action = InProcessActionEndpoint.from_endpoint(endpoints.action)
            if isinstance(endpoints.action, InProcessActionEndpoint):
                log.info("actions.inprocess module=%s", endpoints.action.actions_module)
        return endpoints

    AvailableEndpoints.read_endpoints = classmethod(read_with_inprocess_actions)  # type: ignore[method-assign,assignment]
