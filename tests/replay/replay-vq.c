// SPDX-License-Identifier: GPL-2.0-or-later
/* The virtqueue side of a replay; see replay-vq.h. */
#include "replay-vq.h"
#include "tests/vhost/vuf.h"

#define MAX_QUEUE 256u                /* vuf.h's ring placement */
#define ARENA_START VUF_HEAP
#define ARENA_END VUF_A_SIZE

struct chain {
	bool busy;
	uint16_t tag;
	uint64_t start, end;          /* its buffers, [start, end) */
	uint64_t in;                  /* the writable one */
	uint32_t room;
};

struct replay_vq {
	struct vuf f;
	unsigned num;
	struct chain chains[MAX_QUEUE / 2];   /* by head / 2: two descriptors each */
	uint64_t next;                /* where the next buffers go */
};

struct replay_vq *replay_vq_start(const char *const *args, unsigned num, GError **err)
{
	struct replay_vq *v = g_new0(struct replay_vq, 1);

	v->num = CLAMP(num, 2u, MAX_QUEUE) & ~1u;
	vuf_start(&v->f, args, v->num, 0);
	if (!vuf_alive(&v->f)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "x9p-vhost did not start");
		replay_vq_free(v);
		return NULL;
	}
	v->next = ARENA_START;
	return v;
}

void replay_vq_free(struct replay_vq *v)
{
	if (!v)
		return;
	if (v->f.pid > 0) {
		kill(v->f.pid, SIGKILL);
		waitpid(v->f.pid, NULL, 0);
		v->f.pid = 0;
	}
	vuf_stop(&v->f);
	g_free(v);
}

static bool overlaps(struct replay_vq *v, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < v->num / 2; i++) {
		struct chain *c = &v->chains[i];

		if (c->busy && start < c->end && c->start < end)
			return true;
	}
	return false;
}

static bool fits(struct replay_vq *v, uint64_t at, uint64_t len)
{
	return at >= ARENA_START && at + len <= ARENA_END && !overlaps(v, at, at + len);
}

/* Where len bytes of buffers can go, or 0: after the last chain's, else
 * at the start, else after any chain in flight (first fit), so that one
 * request held long (a blocking lock) does not keep the rest waiting. */
static uint64_t place(struct replay_vq *v, uint64_t len)
{
	uint64_t at = (v->next + 63) & ~63ull;

	if (len > ARENA_END - ARENA_START)
		return 0;
	if (fits(v, at, len))
		return at;
	if (fits(v, ARENA_START, len))
		return ARENA_START;
	for (unsigned i = 0; i < v->num / 2; i++) {
		struct chain *c = &v->chains[i];

		at = (c->end + 63) & ~63ull;
		if (c->busy && fits(v, at, len))
			return at;
	}
	return 0;
}

static int free_chain(struct replay_vq *v)
{
	for (unsigned i = 0; i < v->num / 2; i++)
		if (!v->chains[i].busy)
			return (int)i;
	return -1;
}

bool replay_vq_room(struct replay_vq *v, uint32_t len, uint32_t room)
{
	return free_chain(v) >= 0 && place(v, (uint64_t)len + 64 + room) != 0;
}

void replay_vq_send(struct replay_vq *v, const uint8_t *frame, uint32_t len, uint32_t room)
{
	int i = free_chain(v);
	uint64_t at = place(v, (uint64_t)len + 64 + room);
	uint64_t in = (at + len + 63) & ~63ull;
	uint16_t head = (uint16_t)(2 * i);
	struct chain *c = &v->chains[i];

	g_assert(i >= 0 && at);
	vuf_write_mem(&v->f, at, frame, len);
	memset(vuf_ptr(&v->f, in), 0, room);
	*c = (struct chain){ .busy = true, .tag = (uint16_t)(frame[5] | frame[6] << 8),
			     .start = at, .end = in + room, .in = in, .room = room };
	v->next = c->end;
	vuf_desc(&v->f, VUF_DESC, head, at, len, room ? VUF_D_NEXT : 0, (uint16_t)(head + 1));
	if (room)
		vuf_desc(&v->f, VUF_DESC, head + 1u, in, room, VUF_D_WRITE, 0);
	vuf_publish(&v->f, head);
	vuf_kick(&v->f);
}

uint8_t *replay_vq_take(struct replay_vq *v, uint32_t *len, uint16_t *tag)
{
	uint8_t *e, *f;
	uint32_t id, n;
	struct chain *c;

	if (vuf_used_idx(&v->f) == v->f.used_seen)
		return NULL;
	e = v->f.a + VUF_USED + 4 + 8 * (v->f.used_seen % v->num);
	memcpy(&id, e, 4);
	memcpy(&n, e + 4, 4);
	v->f.used_seen++;
	c = id % 2 == 0 && id / 2 < v->num / 2 ? &v->chains[id / 2] : NULL;
	if (!c || !c->busy) {
		*len = UINT32_MAX;
		*tag = 0;
		return g_malloc0(1);
	}
	c->busy = false;
	*tag = c->tag;
	*len = MIN(n, c->room);
	f = g_malloc(*len ? *len : 1);
	vuf_read_mem(&v->f, c->in, f, *len);
	return f;
}

void replay_vq_wait(struct replay_vq *v, int ms)
{
	struct pollfd p = { v->f.call, POLLIN, 0 };

	if (vuf_used_idx(&v->f) == v->f.used_seen && poll(&p, 1, ms) == 1)
		vuf_calls(&v->f);
}

bool replay_vq_alive(struct replay_vq *v)
{
	return vuf_alive(&v->f);
}

bool replay_vq_faulted(struct replay_vq *v, int ms)
{
	struct pollfd p = { v->f.err, POLLIN, 0 };
	uint64_t n;

	return poll(&p, 1, ms) == 1 && read(v->f.err, &n, 8) == 8 && n > 0;
}
