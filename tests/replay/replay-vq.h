/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtqueue side of a replay (recordings of x9p-vhost, over vhost-user
 * or vfio-user): the build's x9p-vhost, played as QEMU and as the guest's
 * virtio driver over vhost-user (tests/vhost/vuf.h).  Either transport's
 * recording replays here: both run the same device class on the queue.
 *
 * One queue of the recorded size (at most 256).  A request goes in a chain
 * of one readable buffer (its frame) and one writable buffer of the room
 * the recorded guest gave it, since an Rread or Rreaddir fills what room
 * there is.  Buffers come from guest memory not in use by a chain in
 * flight; a request for which there is none (or no descriptor) waits.
 */
#ifndef X9P_REPLAY_VQ_H
#define X9P_REPLAY_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

struct replay_vq;

/* Starts x9p-vhost with args (NULL-ended: --export, --security-model ...)
 * and a queue of num entries. */
struct replay_vq *replay_vq_start(const char *const *args, unsigned num, GError **err);
void replay_vq_free(struct replay_vq *v);
/* Whether a request of len bytes with room for a reply can go now. */
bool replay_vq_room(struct replay_vq *v, uint32_t len, uint32_t room);
/* Sends it (after replay_vq_room()). */
void replay_vq_send(struct replay_vq *v, const uint8_t *frame, uint32_t len, uint32_t room);
/*
 * The next completed chain: its reply (g_free) of *len bytes, or with
 * *len 0 a chain the device gave back empty (a refused or flushed
 * request), *tag then the tag of the request it held; with *len
 * UINT32_MAX a chain the device was never given.  NULL: none yet.
 */
uint8_t *replay_vq_take(struct replay_vq *v, uint32_t *len, uint16_t *tag);
/* Sleeps until the device interrupts or ms pass. */
void replay_vq_wait(struct replay_vq *v, int ms);
/* x9p-vhost still runs. */
bool replay_vq_alive(struct replay_vq *v);
/* Waits up to ms for the device to break the queue (its error eventfd). */
bool replay_vq_faulted(struct replay_vq *v, int ms);

#endif
