"""The network's AgentCard and each agent's: one skill per capability online agents offer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_1_0, TransportProtocol

from ains import __version__
from ains.services import Services

JSONRPC_PATH = "/a2a/jsonrpc"
REST_PATH = "/a2a/rest"
PAGE = 500


def interfaces(base_url: str) -> list[AgentInterface]:
    base = base_url.rstrip("/")
    return [
        AgentInterface(
            url=f"{base}{JSONRPC_PATH}",
            protocol_binding=TransportProtocol.JSONRPC.value,
            protocol_version=PROTOCOL_VERSION_1_0,
        ),
        AgentInterface(
            url=f"{base}{REST_PATH}",
            protocol_binding=TransportProtocol.HTTP_JSON.value,
            protocol_version=PROTOCOL_VERSION_1_0,
        ),
    ]


def skill(capability: str, agents: Iterable[str]) -> AgentSkill:
    names = sorted(set(agents))
    return AgentSkill(
        id=capability,
        name=capability,
        description=f"Routed to the agents offering {capability} ({', '.join(names)}).",
        tags=[capability.partition(":")[0]],
        input_modes=["application/json", "text/plain"],
        output_modes=["application/json"],
    )


def build_card(
    name: str, description: str, base_url: str, offered: dict[str, list[str]]
) -> AgentCard:
    """``offered`` maps each capability to the names of the agents offering it."""
    card = AgentCard(
        name=name,
        description=description,
        version=__version__,
        supported_interfaces=interfaces(base_url),
        capabilities=AgentCapabilities(
            streaming=True, push_notifications=True, extended_agent_card=True
        ),
        default_input_modes=["application/json", "text/plain"],
        default_output_modes=["application/json"],
        skills=[skill(cap, offered[cap]) for cap in sorted(offered)],
    )
    card.security_schemes["bearer"].CopyFrom(
        SecurityScheme(
            http_auth_security_scheme=HTTPAuthSecurityScheme(
                scheme="bearer", description="An AINS API key or JWT, as for the REST API."
            )
        )
    )
    card.security_requirements.append(SecurityRequirement(schemes={"bearer": StringList(list=[])}))
    return card


async def online_agents(services: Services) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    async with services.db.read() as conn:
        while True:
            page = await services.agents.list_agents(
                conn, capability=None, online=True, limit=PAGE, cursor=cursor
            )
            found.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return found


def offered_by(agents: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    offered: dict[str, list[str]] = {}
    for agent in agents:
        for capability in agent["capabilities"] or []:
            offered.setdefault(capability, []).append(agent["agent_id"])
    return offered


async def network_card(services: Services, base_url: str) -> AgentCard:
    return build_card(
        "DukeNet AINS",
        "An AI task network: each skill is a capability its online agents offer; a message "
        "becomes a task routed to one of them.",
        base_url,
        offered_by(await online_agents(services)),
    )


def agent_card(agent: dict[str, Any], base_url: str) -> AgentCard:
    """One agent's card: its capabilities as skills, reached through the network's endpoints
    (routing picks the agent among those offering the skill)."""
    return build_card(
        str(agent["name"] or agent["agent_id"]),
        f"AINS agent {agent['agent_id']}, reached through the network's A2A endpoints.",
        base_url,
        {cap: [agent["agent_id"]] for cap in agent["capabilities"] or []},
    )
