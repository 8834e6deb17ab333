// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-user codec fuzzer (virtio-pci-shim/vfu-*.h).  Built with ASan and
 * UBSan.
 *
 * Each round sends bytes through a fresh socketpair into the real receive
 * and decode path: random bytes, or valid commands of every kind (as
 * QEMU's client sends them) with bytes flipped, cut, spliced from another
 * command, grown with junk, a field set to all ones or the header's size
 * lied about, with a random number of descriptors attached (sometimes more
 * than the codec takes).  Decoded VERSION commands go on through the
 * negotiation, and mutated capabilities documents through the JSON parser.
 * Checked:
 *  - a command that decodes encodes back to the bytes it was received as,
 *    with the descriptors that came with it;
 *  - more descriptors than VFU_MAX_FDS are never accepted;
 *  - no descriptor is left open once a round's messages are cleared,
 *    whether accepted or refused (each received descriptor is closed
 *    after clearing, the lowest free descriptor number is the same after
 *    every round and the number of open descriptors after every 1000);
 *  - nothing crashes, nothing leaks (ASan).
 *
 *   fuzz-vfu [--seconds N] [--seed S]
 *
 * Prints TAP (one result) and, on failure, the seed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "procinfo.h"
#include "fuzz-common.h"
#include "virtio-pci-shim/unix-io.h"
#include "virtio-pci-shim/vfu-msg.h"
#include "virtio-pci-shim/vfu-version.h"

#define BUF 8192

static const char qemu_caps[] =
	"{\"capabilities\": {\"migration\": {\"pgsize\": 4096, \"max_bitmap_size\": 268435456}, "
	"\"max_msg_fds\": 16, \"max_data_xfer_size\": 1048576, \"pgsizes\": 4096, "
	"\"max_dma_maps\": 65535, \"write_multiple\": true}}";

static struct {
	unsigned rounds, messages, accepted, faults, unsupported, versions, json;
} stats;

/* A number that is small, at an edge, or anything. */
static uint64_t any(GRand *r)
{
	switch (g_rand_int_range(r, 0, 4)) {
	case 0:
		return (uint64_t)g_rand_int_range(r, 0, 9);
	case 1:
		return UINT64_MAX - (uint64_t)g_rand_int_range(r, 0, 4);
	case 2:
		return (uint64_t)g_rand_int(r) << 12;
	default:
		return ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
	}
}

/* A valid command as QEMU's client sends it; *nfds descriptors go with it. */
static int random_valid(GRand *r, uint8_t *buf, size_t size, int *nfds)
{
	static const uint16_t cmds[] = {
		VFU_CMD_VERSION, VFU_CMD_DMA_MAP, VFU_CMD_DMA_UNMAP, VFU_CMD_DEVICE_GET_INFO,
		VFU_CMD_DEVICE_GET_REGION_INFO, VFU_CMD_DEVICE_GET_IRQ_INFO,
		VFU_CMD_DEVICE_SET_IRQS, VFU_CMD_REGION_READ, VFU_CMD_REGION_WRITE,
		VFU_CMD_DEVICE_RESET, VFU_CMD_REGION_WRITE_MULTI,
	};
	static const uint32_t data_types[] = {
		VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD,
	};
	static const uint32_t actions[] = {
		VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_IRQ_SET_ACTION_TRIGGER,
	};
	struct vfu_wr_one wrs[8];
	uint8_t data[256];
	struct vfu_req q = { .hdr = { .id = (uint16_t)g_rand_int(r),
				      .command = cmds[g_rand_int_range(r, 0, G_N_ELEMENTS(cmds))] } };
	uint8_t *out;
	size_t len;
	uint32_t n;

	*nfds = 0;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)g_rand_int(r);
	switch (q.hdr.command) {
	case VFU_CMD_VERSION:
		q.u.version.v.minor = (uint16_t)g_rand_int_range(r, 0, 3);
		if (g_rand_int_range(r, 0, 4)) {
			q.u.version.json = qemu_caps;
			q.u.version.json_len = sizeof(qemu_caps);
		}
		break;
	case VFU_CMD_DMA_MAP:
		*nfds = g_rand_int_range(r, 0, 2);
		q.u.dma_map = (struct vfu_dma_map){
			32, (uint32_t)g_rand_int_range(r, 0, 4),
			*nfds ? (uint64_t)g_rand_int(r) << 12 : 0,
			(uint64_t)g_rand_int(r) << 12, (uint64_t)g_rand_int_range(r, 1, 1 << 20) << 12 };
		break;
	case VFU_CMD_DMA_UNMAP:
		if (g_rand_boolean(r))
			q.u.dma_unmap = (struct vfu_dma_unmap){ 24, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0 };
		else
			q.u.dma_unmap = (struct vfu_dma_unmap){
				24, 0, (uint64_t)g_rand_int(r) << 12,
				(uint64_t)g_rand_int_range(r, 1, 1 << 20) << 12 };
		break;
	case VFU_CMD_DEVICE_GET_INFO:
		q.u.device_info.argsz = 16;
		break;
	case VFU_CMD_DEVICE_GET_REGION_INFO:
		q.u.region_info.argsz = g_rand_boolean(r) ? 32 : 4096;
		q.u.region_info.index = (uint32_t)g_rand_int_range(r, 0, 10);
		break;
	case VFU_CMD_DEVICE_GET_IRQ_INFO:
		q.u.irq_info.argsz = 16;
		q.u.irq_info.index = (uint32_t)g_rand_int_range(r, 0, 5);
		break;
	case VFU_CMD_DEVICE_SET_IRQS:
		q.u.set_irqs.s.flags = data_types[g_rand_int_range(r, 0, 3)] |
				       actions[g_rand_int_range(r, 0, 3)];
		q.u.set_irqs.s.index = (uint32_t)g_rand_int_range(r, 0, 5);
		q.u.set_irqs.s.start = (uint32_t)g_rand_int_range(r, 0, 8);
		q.u.set_irqs.s.count = (uint32_t)g_rand_int_range(r, 0, 8);
		q.u.set_irqs.s.argsz = 20;
		if (q.u.set_irqs.s.flags & VFIO_IRQ_SET_DATA_BOOL) {
			q.u.set_irqs.bools = data;
			q.u.set_irqs.s.argsz += q.u.set_irqs.s.count;
		} else if (q.u.set_irqs.s.flags & VFIO_IRQ_SET_DATA_EVENTFD) {
			*nfds = g_rand_boolean(r) ? (int)q.u.set_irqs.s.count : 0;
		} else {
			q.u.set_irqs.s.count = 0;
			q.u.set_irqs.s.start = 0;
		}
		break;
	case VFU_CMD_REGION_READ:
	case VFU_CMD_REGION_WRITE:
		q.u.region_rw.rw.offset = (uint64_t)g_rand_int_range(r, 0, 1 << 16);
		q.u.region_rw.rw.region = (uint32_t)g_rand_int_range(r, 0, 9);
		q.u.region_rw.rw.count = (uint32_t)g_rand_int_range(r, 0, sizeof(data) + 1);
		q.u.region_rw.data = data;
		if (g_rand_boolean(r))
			q.hdr.flags = VFU_F_NO_REPLY;
		break;
	case VFU_CMD_REGION_WRITE_MULTI:
		n = (uint32_t)g_rand_int_range(r, 1, G_N_ELEMENTS(wrs) + 1);
		for (uint32_t i = 0; i < n; i++) {
			wrs[i] = (struct vfu_wr_one){
				.offset = (uint64_t)g_rand_int_range(r, 0, 1 << 16),
				.region = (uint32_t)g_rand_int_range(r, 0, 9),
				.count = (uint32_t)g_rand_int_range(r, 1, 9) };
			memcpy(wrs[i].data, data + 8 * i, 8);
		}
		q.u.multi.n = n;
		q.u.multi.wrs = wrs;
		q.hdr.flags = VFU_F_NO_REPLY;
		break;
	default:
		break;
	}
	if (vfu_encode(&q, &out, &len) || len > size)
		abort();
	memcpy(buf, out, len);
	g_free(out);
	return (int)len;
}

static void mutate(GRand *r, uint8_t *buf, int *len, size_t size)
{
	uint8_t other[BUF];
	int olen, ofds, at;
	uint32_t v;

	int which = g_rand_int_range(r, 0, FUZZ_BASIC_MUTATIONS + 3);

	switch (which) {
	case 0 ... FUZZ_BASIC_MUTATIONS - 1:
		fuzz_mutate_basic(r, which, buf, len, size, 0);
		break;
	case FUZZ_BASIC_MUTATIONS: /* splice the tail of another command */
		olen = random_valid(r, other, sizeof(other), &ofds);
		at = g_rand_int_range(r, 0, *len + 1);
		{
			int from = g_rand_int_range(r, 0, olen + 1);
			int n = MIN(olen - from, (int)size - at);

			memcpy(buf + at, other + from, (size_t)n);
			*len = at + n;
		}
		break;
	case FUZZ_BASIC_MUTATIONS + 1: /* the header's size lies (the payload is unchanged) */
		if (*len >= 16) {
			memcpy(&v, buf + 4, 4);
			v = g_rand_boolean(r) ? v + (uint32_t)g_rand_int_range(r, -20, 21)
					      : (uint32_t)any(r);
			memcpy(buf + 4, &v, 4);
		}
		break;
	default: /* a payload word anywhere */
		if (*len >= 20) {
			uint64_t w = any(r);

			at = 16 + g_rand_int_range(r, 0, (*len - 16) / 4) * 4;
			memcpy(buf + at, &w, MIN(8, *len - at));
		}
		break;
	}
}

/* What the codec accepted must encode back to what it received. */
static void check_accepted(const struct vfu_msg *m, const struct vfu_req *d)
{
	uint8_t *out;
	size_t len;

	CHECK(d->nfds == m->nfds, "descriptors lost in decoding");
	if (vfu_encode(d, &out, &len)) {
		CHECK(0, "a decoded %s does not encode", vfu_command_name(d->hdr.command));
		return;
	}
	CHECK(len == m->hdr.size && memcmp(out, &m->hdr, 16) == 0 &&
	      (!m->len || memcmp(out + 16, m->payload, m->len) == 0),
	      "a decoded %s does not encode back to its bytes", vfu_command_name(d->hdr.command));
	g_free(out);
}

static void negotiate(GRand *r, const struct vfu_req *d)
{
	struct vfu_caps ours, client;
	uint8_t *payload;
	size_t len;

	vfu_caps_defaults(&ours);
	ours.max_msg_fds = VFU_MAX_FDS;
	ours.write_multiple = g_rand_boolean(r);
	stats.versions++;
	if (vfu_version_reply(d, &ours, &client, &payload, &len, NULL) == 0) {
		CHECK(len > 5 && payload[len - 1] == 0 && strlen((char *)payload + 4) == len - 5,
		      "VERSION reply JSON is not one NUL-terminated string");
		g_free(payload);
	}
}

/* One round: bytes and descriptors into a fresh socketpair, then every
 * message the codec makes of them. */
static void round_trip(GRand *r, int probe_base)
{
	uint8_t buf[BUF];
	int sv[2], len, nfds, probe, sent_fds = 0;
	struct vfu_msg m;
	struct vfu_req d;

	if (g_rand_int_range(r, 0, 5) == 0) {
		len = g_rand_int_range(r, 0, 80);
		for (int i = 0; i < len; i++)
			buf[i] = (uint8_t)g_rand_int(r);
		nfds = 0;
	} else {
		len = random_valid(r, buf, sizeof(buf), &nfds);
		if (g_rand_int_range(r, 0, 3))
			mutate(r, buf, &len, sizeof(buf));
	}
	if (g_rand_int_range(r, 0, 4) == 0)
		nfds = g_rand_int_range(r, 0, VFU_MAX_FDS + 4);
	/* Sometimes a second valid command follows in the same stream. */
	if (g_rand_int_range(r, 0, 4) == 0) {
		int extra;

		len += random_valid(r, buf + len, sizeof(buf) - (size_t)len, &extra);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		CHECK(0, "socketpair: %s", g_strerror(errno));
		return;
	}
	if (len > 0 || nfds) {
		int fds[VFU_MAX_FDS + 4];

		for (int i = 0; i < nfds; i++)
			fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		/* Descriptors need a byte to travel with. */
		if (len > 0 && uio_send_all(sv[0], &(struct iovec){ buf, (size_t)len }, 1, fds,
					    nfds) == 0)
			sent_fds = nfds;
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	}
	shutdown(sv[0], SHUT_WR);
	for (int k = 0;; k++) {
		int err = vfu_msg_recv(sv[1], &m, NULL);

		if (err) {
			CHECK(err == -EPROTO || err == -ECONNRESET, "receive gave %d", err);
			break;
		}
		stats.messages++;
		CHECK(!(k == 0 && sent_fds > VFU_MAX_FDS), "%d descriptors accepted", sent_fds);
		err = vfu_decode(&m, &d, NULL);
		if (err == 0) {
			stats.accepted++;
			check_accepted(&m, &d);
			if (d.hdr.command == VFU_CMD_VERSION)
				negotiate(r, &d);
		} else if (err == -ENOSYS) {
			stats.unsupported++;
		} else {
			CHECK(err == -EPROTO, "decode gave %d", err);
			stats.faults++;
		}
		{
			int got[VFU_MAX_FDS], n = m.nfds;

			memcpy(got, m.fds, sizeof(int) * (size_t)n);
			vfu_msg_clear(&m);
			for (int i = 0; i < n; i++)
				CHECK(fcntl(got[i], F_GETFD) < 0 && errno == EBADF,
				      "descriptor %d of a %s left open", got[i],
				      vfu_command_name(d.hdr.command));
		}
	}
	close(sv[0]);
	close(sv[1]);
	probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(probe == probe_base, "descriptor leaked (lowest free %d, was %d)", probe, probe_base);
	close(probe);
	stats.rounds++;
}

/* Mutated capabilities documents straight into the JSON path. */
static void fuzz_json(GRand *r)
{
	char doc[sizeof(qemu_caps) + 64];
	int len = (int)sizeof(qemu_caps) - 1;
	struct vfu_caps c;

	memcpy(doc, qemu_caps, sizeof(qemu_caps));
	for (int i = g_rand_int_range(r, 1, 4); i > 0 && len > 0; i--) {
		static const char tokens[] = "{}[]\":,-0123456789.etruefalsn \\";
		int at = g_rand_int_range(r, 0, len);

		if (g_rand_int_range(r, 0, 3) == 0)
			len = at;
		else
			doc[at] = tokens[g_rand_int_range(r, 0, sizeof(tokens) - 1)];
	}
	doc[len] = 0;
	if (vfu_caps_parse(doc, &c, NULL) != 0)
		CHECK(c.max_msg_fds == 1 && c.pgsizes == 4096, "a refused document left values");
	stats.json++;
}

int main(int argc, char **argv)
{
	gint seconds;
	gint64 seed;
	GRand *r;
	gint64 start, end;
	int probe_base, fds_base;

	fuzz_begin(&argc, &argv, "fuzz-vfu", "- fuzz the vfio-user codec", NULL, &seconds, &seed);
	/* A misused GLib or json-glib call is a finding too. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	r = g_rand_new_with_seed((guint32)seed);
	probe_base = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(probe_base);
	fds_base = x9p_proc_fds(0);
	start = g_get_monotonic_time();
	end = start + (gint64)seconds * G_USEC_PER_SEC;
	while (!failure[0] && g_get_monotonic_time() < end) {
		for (int i = 0; i < 1000 && !failure[0]; i++) {
			round_trip(r, probe_base);
			if (i % 8 == 0)
				fuzz_json(r);
		}
		/* Refused messages' descriptors have no number to check one by
		 * one: the process's count catches them. */
		CHECK(x9p_proc_fds(0) == fds_base, "descriptors leaked: %d open, %d at the start",
		      x9p_proc_fds(0), fds_base);
	}
	g_rand_free(r);
	if (failure[0])
		return fuzz_failed("fuzz-vfu", seed, "");
	printf("ok 1 - %u rounds (%.0f/s), %u messages: %u accepted, %u refused, %u unsupported; "
	       "%u negotiations, %u JSON documents\n",
	       stats.rounds, stats.rounds / ((g_get_monotonic_time() - start) / 1e6), stats.messages,
	       stats.accepted, stats.faults, stats.unsupported, stats.versions, stats.json);
	return 0;
}
