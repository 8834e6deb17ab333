// SPDX-License-Identifier: GPL-2.0-or-later
/* The monitor-worker message codec; see mw.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "privsep/mw.h"

/* Per type: who sends it, its u32 fields, most strings, most descriptors. */
static const struct {
	const char *name;
	enum mw_dir from;
	unsigned nu, max_s, max_fds;
} types[MW_TYPE_END] = {
	[MW_CONFIG] = { "CONFIG", MW_FROM_MONITOR, MW_CF_NU, MW_CF_S_ENDPOINT0 + MW_MAX_ENDPOINTS,
			MW_MAX_ENDPOINTS + 1 },
	[MW_READY] = { "READY", MW_FROM_WORKER, 0, 0, 0 },
	[MW_HELPER_START] = { "HELPER_START", MW_FROM_WORKER, 0, 0, 0 },
	[MW_HELPER] = { "HELPER", MW_FROM_MONITOR, MW_HP_NU, 1, 1 },
	[MW_HELPER_KILL] = { "HELPER_KILL", MW_FROM_WORKER, 0, 0, 0 },
	[MW_HELPER_REAP] = { "HELPER_REAP", MW_FROM_WORKER, MW_RP_NU, 0, 0 },
	[MW_HELPER_GONE] = { "HELPER_GONE", MW_FROM_MONITOR, 0, 1, 0 },
	[MW_SESSION] = { "SESSION", MW_FROM_WORKER, MW_SS_NU, 0, 0 },
	[MW_FAULT] = { "FAULT", MW_FROM_WORKER, 0, 1, 0 },
	[MW_KEEP_FD] = { "KEEP_FD", MW_FROM_WORKER, MW_KF_NU, 0, 1 },
	[MW_DROP_FD] = { "DROP_FD", MW_FROM_WORKER, MW_KF_NU, 0, 0 },
	[MW_KEPT_FD] = { "KEPT_FD", MW_FROM_MONITOR, MW_KF_NU, 0, 1 },
	[MW_KEEP_DEVICE] = { "KEEP_DEVICE", MW_FROM_WORKER, 0, MW_MAX_S, MW_MAX_FDS },
	[MW_KEPT_DEVICE] = { "KEPT_DEVICE", MW_FROM_MONITOR, 0, MW_MAX_S, MW_MAX_FDS },
	[MW_KEEP_CONN] = { "KEEP_CONN", MW_FROM_WORKER, MW_KC_NU, MW_KC_NS, MW_KC_MAX_FDS },
	[MW_DROP_CONN] = { "DROP_CONN", MW_FROM_WORKER, MW_KC_NU, 0, 0 },
	[MW_KEPT_CONN] = { "KEPT_CONN", MW_FROM_MONITOR, MW_KC_NU, MW_KC_NS, MW_KC_MAX_FDS },
};

G_STATIC_ASSERT(MW_CF_NU <= MW_MAX_U);
G_STATIC_ASSERT(MW_CF_S_ENDPOINT0 + MW_MAX_ENDPOINTS <= MW_MAX_S);

const char *mw_type_name(unsigned type)
{
	return type > 0 && type < MW_TYPE_END ? types[type].name : "?";
}

void mw_init(struct mw_msg *m, enum mw_type type, uint32_t seq)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint16_t)type;
	m->seq = seq;
	m->nu = type > 0 && type < MW_TYPE_END ? types[type].nu : 0;
}

void mw_add_str(struct mw_msg *m, const char *s)
{
	if (m->ns < MW_MAX_S)
		m->s[m->ns++] = g_strdup(s ? s : "");
}

bool mw_add_text(struct mw_msg *m, const char *text)
{
	size_t len = strlen(text);

	while (len > MW_MAX_STR) {
		size_t cut = MW_MAX_STR;

		while (cut > 0 && text[cut] != ' ')
			cut--;
		if (cut == 0 || m->ns >= MW_MAX_S)
			return false;
		m->s[m->ns++] = g_strndup(text, cut);
		text += cut + 1;
		len -= cut + 1;
	}
	if (m->ns >= MW_MAX_S)
		return false;
	mw_add_str(m, text);
	return true;
}

char *mw_text(const struct mw_msg *m)
{
	GString *t = g_string_new(NULL);

	for (unsigned i = 0; i < m->ns; i++)
		g_string_append_printf(t, "%s%s", i ? " " : "", m->s[i]);
	return g_string_free(t, FALSE);
}

void mw_add_fd(struct mw_msg *m, int fd)
{
	if (m->nfds < MW_MAX_FDS)
		m->fds[m->nfds++] = fd;
}

/* CONFIG's descriptors after the endpoints', in order. */
static const struct {
	uint32_t flag;
	unsigned nfds;
} cf_tail[] = { { MW_CF_JOURNAL, 1 }, { MW_CF_RECORD, 2 }, { MW_CF_TRACE, 1 } };

unsigned mw_cf_tail_fds(const struct mw_msg *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < G_N_ELEMENTS(cf_tail); i++)
		if (m->u[MW_CF_FLAGS] & cf_tail[i].flag)
			n += cf_tail[i].nfds;
	return n;
}

unsigned mw_cf_fd_at(const struct mw_msg *m, uint32_t flag)
{
	unsigned at = m->nfds;

	/* Counted back from the end, the last first. */
	for (int i = G_N_ELEMENTS(cf_tail) - 1; i >= 0; i--) {
		if (m->u[MW_CF_FLAGS] & cf_tail[i].flag)
			at -= cf_tail[i].nfds;
		if (cf_tail[i].flag == flag)
			break;
	}
	return at;
}

void mw_clear_keep_fds(struct mw_msg *m)
{
	for (unsigned i = 0; i < m->ns; i++)
		g_free(m->s[i]);
	m->ns = 0;
	m->nfds = 0;
}

void mw_clear(struct mw_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	mw_clear_keep_fds(m);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int mw_encode(const struct mw_msg *m, uint8_t *buf, size_t size)
{
	size_t o = MW_HDR;

	if (m->type == 0 || m->type >= MW_TYPE_END || m->nu != types[m->type].nu ||
	    m->ns > types[m->type].max_s || m->nfds > types[m->type].max_fds)
		return -EINVAL;
	if (size < MW_HDR + 4 * (size_t)m->nu)
		return -EMSGSIZE;
	for (unsigned i = 0; i < m->nu; i++, o += 4)
		put32(buf + o, m->u[i]);
	for (unsigned i = 0; i < m->ns; i++) {
		size_t l = strlen(m->s[i]);

		if (l > MW_MAX_STR)
			return -EINVAL;
		if (o + 2 + l > size || o + 2 + l > MW_MAX_MSG)
			return -EMSGSIZE;
		put16(buf + o, (uint16_t)l);
		memcpy(buf + o + 2, m->s[i], l);
		o += 2 + l;
	}
	put16(buf, MW_VERSION);
	put16(buf + 2, m->type);
	put32(buf + 4, m->seq);
	put32(buf + 8, (uint32_t)(o - MW_HDR));
	return (int)o;
}

int mw_decode(const uint8_t *buf, size_t len, enum mw_dir from, const int *fds, unsigned nfds,
	      struct mw_msg *m)
{
	size_t o = MW_HDR;
	uint16_t type;

	memset(m, 0, sizeof(*m));
	if (len < MW_HDR || len > MW_MAX_MSG || get16(buf) != MW_VERSION)
		goto bad;
	type = get16(buf + 2);
	if (type == 0 || type >= MW_TYPE_END || types[type].from != from ||
	    get32(buf + 8) != len - MW_HDR || nfds > types[type].max_fds ||
	    len < MW_HDR + 4 * (size_t)types[type].nu)
		goto bad;
	m->type = type;
	m->seq = get32(buf + 4);
	m->nu = types[type].nu;
	for (unsigned i = 0; i < m->nu; i++, o += 4)
		m->u[i] = get32(buf + o);
	while (o < len) {
		size_t l;

		if (m->ns == types[type].max_s || len - o < 2)
			goto bad;
		l = get16(buf + o);
		if (l > MW_MAX_STR || l > len - o - 2 || memchr(buf + o + 2, 0, l))
			goto bad;
		m->s[m->ns++] = g_strndup((const char *)buf + o + 2, l);
		o += 2 + l;
	}
	for (unsigned i = 0; i < nfds; i++)
		m->fds[m->nfds++] = fds[i];
	return 0;
bad:
	mw_clear_keep_fds(m);
	for (unsigned i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return -EPROTO;
}

int mw_send(int sock, const struct mw_msg *m)
{
	uint8_t buf[MW_MAX_MSG];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * MW_MAX_FDS)];
	} cm;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int n = mw_encode(m, buf, sizeof(buf));
	ssize_t w;

	if (n < 0)
		return n;
	iov.iov_base = buf;
	iov.iov_len = (size_t)n;
	if (m->nfds) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
		memcpy(CMSG_DATA(&cm.h), m->fds, sizeof(int) * m->nfds);
	}
	do
		w = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return w == n ? 0 : -EIO;
}

int mw_recv(int sock, enum mw_dir from, struct mw_msg *m)
{
	uint8_t buf[MW_MAX_MSG + 1];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * (MW_MAX_FDS + 1))];
	} cm;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	int fds[MW_MAX_FDS + 1];
	unsigned nfds = 0;
	bool trunc;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds < G_N_ELEMENTS(fds))
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	trunc = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
	if (n == 0 && nfds == 0)
		return 1;
	if (trunc || (size_t)n > MW_MAX_MSG) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	return mw_decode(buf, (size_t)n, from, fds, nfds, m);
}
