"""The human queue: a discrete-event simulation of routing chats to agents.

Each team has a FIFO queue. A chat waits until an online agent of its team has a free slot
(`concurrency` chats at once); the least loaded agent gets the offer. A customer whose
patience runs out before that leaves (a missed chat when they waited longer than the
grace period). An agent keeps the slot from the offer until the close, so the busy periods
visible in the output (pickup to close) never overlap more than the limit. Transfers need a
free agent in the target team at that moment; reopened chats go to the front of the queue.

Arrivals come from a sorted array, everything else (status changes, closes, transfers,
reopens) from one heap; plain Python lists keep the hot loop fast (~0.5 s per 100k chats).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from chatlens.simulate.columns import STATUS

_STATUS, _RELEASE, _XFER, _REOPEN, _RELEASE2 = range(5)


@dataclass
class QueueInput:
    """Per human chat (in conversation order): what the plan says about it."""

    entry: np.ndarray  # float64 absolute queue entry time
    team: np.ndarray
    patience: np.ndarray
    acc: np.ndarray
    declines: np.ndarray
    decline_delay: np.ndarray
    hold: np.ndarray
    xfer_off: np.ndarray
    xfer_team: np.ndarray
    reopen_delay: np.ndarray
    r_acc: np.ndarray
    r_hold: np.ndarray


@dataclass
class QueueResult:
    """Per human chat: offer and pickup times (NaN: never picked up) and the agents."""

    offer: np.ndarray
    join: np.ndarray
    agent: np.ndarray
    declined_by: np.ndarray  # -1: no decline
    xfer_agent: np.ndarray  # -1: no transfer happened
    r_join: np.ndarray
    r_agent: np.ndarray


def run_queue(
    inp: QueueInput,
    agent_team: np.ndarray,
    n_teams: int,
    limit: int,
    status: tuple[np.ndarray, np.ndarray, np.ndarray],
    until: float,
) -> QueueResult:
    n = len(inp.entry)
    entry, team = inp.entry.tolist(), inp.team.tolist()
    deadline = (inp.entry + inp.patience).tolist()
    acc, declines, ddelay = inp.acc.tolist(), inp.declines.tolist(), inp.decline_delay.tolist()
    hold, xoff, xteam = inp.hold.tolist(), inp.xfer_off.tolist(), inp.xfer_team.tolist()
    rdelay, racc, rhold = inp.reopen_delay.tolist(), inp.r_acc.tolist(), inp.r_hold.tolist()
    offer, join = [math.nan] * n, [math.nan] * n
    agent, declined_by, xfer_agent = [-1] * n, [-1] * n, [-1] * n
    r_join, r_agent = [math.nan] * n, [-1] * n
    current = [-1] * n

    a_team = agent_team.tolist()
    members: list[list[int]] = [[] for _ in range(n_teams)]
    for a, t in enumerate(a_team):
        members[t].append(a)
    load = [0] * len(a_team)
    online = [False] * len(a_team)
    last_pick = [0.0] * len(a_team)
    queues: list[deque[int]] = [deque() for _ in range(n_teams)]
    heap: list[tuple[float, int, int, int]] = []
    seq = 0
    st_t, st_a, st_s = status
    for t, a, s in zip(st_t.tolist(), st_a.tolist(), st_s.tolist(), strict=True):
        heap.append((t, seq, _STATUS, a * 4 + s))
        seq += 1
    heapq.heapify(heap)
    push, pop = heapq.heappush, heapq.heappop
    online_code = STATUS["online"]

    def free_agent(t: int, exclude: int) -> int:
        best, best_load, best_pick = -1, limit, 0.0
        for a in members[t]:
            la = load[a]
            if (
                online[a]
                and a != exclude
                and (la < best_load or (la == best_load and best >= 0 and last_pick[a] < best_pick))
            ):
                best, best_load, best_pick = a, la, last_pick[a]
        return best

    def dispatch(t: int, now: float) -> None:
        nonlocal seq
        q = queues[t]
        while q:
            c = q[0]
            if c >= 0 and deadline[c] < now:
                q.popleft()  # the customer left before anyone was free
                continue
            a = free_agent(t, -1)
            if a < 0:
                return
            q.popleft()
            if c < 0:  # a reopened chat
                c = ~c
                load[a] += 1
                last_pick[a] = now
                r_agent[c] = a
                r_join[c] = rj = now + racc[c]
                push(heap, (rj + rhold[c], seq, _RELEASE2, c))
                seq += 1
                continue
            start = now
            if declines[c]:
                b = free_agent(t, a)
                if b >= 0:
                    declined_by[c] = a
                    a = b
                    start = now + ddelay[c]
            load[a] += 1
            last_pick[a] = now
            current[c] = agent[c] = a
            offer[c] = now
            join[c] = j = start + acc[c]
            push(heap, (j + hold[c], seq, _RELEASE, c))
            seq += 1
            if xoff[c] == xoff[c]:  # not NaN
                push(heap, (j + xoff[c], seq, _XFER, c))
                seq += 1

    order = np.argsort(inp.entry, kind="stable").tolist()
    i, n_arrivals = 0, len(order)
    while True:
        next_arrival = entry[order[i]] if i < n_arrivals else math.inf
        if heap and heap[0][0] <= next_arrival:
            now, _, kind, x = pop(heap)
            if now > until:
                break
            if kind in (_RELEASE, _RELEASE2):
                a = current[x] if kind == _RELEASE else r_agent[x]
                load[a] -= 1
                dispatch(a_team[a], now)
                if kind == _RELEASE and rdelay[x] == rdelay[x]:
                    push(heap, (now + rdelay[x], seq, _REOPEN, x))
                    seq += 1
            elif kind == _STATUS:
                a = x >> 2
                online[a] = (x & 3) == online_code
                if online[a]:
                    dispatch(a_team[a], now)
            elif kind == _XFER:
                a = current[x]
                b = free_agent(xteam[x], a)
                if b >= 0:
                    load[b] += 1
                    last_pick[b] = now
                    load[a] -= 1
                    current[x] = xfer_agent[x] = b
                    dispatch(a_team[a], now)
            else:  # _REOPEN
                t = a_team[current[x]]
                queues[t].appendleft(~x)
                dispatch(t, now)
        elif i < n_arrivals:
            c = order[i]
            i += 1
            if entry[c] > until:
                break
            queues[team[c]].append(c)
            dispatch(team[c], entry[c])
        else:
            break
    return QueueResult(
        offer=np.array(offer),
        join=np.array(join),
        agent=np.array(agent, dtype=np.int16),
        declined_by=np.array(declined_by, dtype=np.int16),
        xfer_agent=np.array(xfer_agent, dtype=np.int16),
        r_join=np.array(r_join),
        r_agent=np.array(r_agent, dtype=np.int16),
    )
