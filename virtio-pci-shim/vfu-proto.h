/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-user wire format (QEMU docs/interop/vfio-user.rst), as spoken by
 * QEMU's vfio-user-pci client.
 *
 * Contract:
 *  - Every message is a 16-byte header (struct vfu_hdr) followed by the
 *    command's payload; hdr.size counts the header too.  The structs here
 *    are the fixed part of each payload, in wire layout (packed, sizes
 *    asserted); variable data (region bytes, SET_IRQS booleans, the
 *    VERSION JSON) follows them.
 *  - Numbers are in the host's byte order and only little-endian hosts are
 *    supported, as for vhost-user (vu-msg.h).
 *  - Flag values reused from <linux/vfio.h> (VFIO_DMA_MAP_FLAG_*,
 *    VFIO_DMA_UNMAP_FLAG_ALL, VFIO_IRQ_SET_*, VFIO_REGION_INFO_FLAG_*,
 *    VFIO_DEVICE_FLAGS_*, the VFIO_PCI_*_INDEX numbers) are not redefined.
 *  - This header only describes bytes; checking them is vfu-msg.h's job.
 */
#ifndef X9P_VFU_PROTO_H
#define X9P_VFU_PROTO_H

#include <assert.h>
#include <stdint.h>

/* Protocol version QEMU proposes (and the only one there is). */
#define VFU_VERSION_MAJOR 0
#define VFU_VERSION_MINOR 0

enum vfu_command {
	VFU_CMD_VERSION = 1,
	VFU_CMD_DMA_MAP = 2,
	VFU_CMD_DMA_UNMAP = 3,
	VFU_CMD_DEVICE_GET_INFO = 4,
	VFU_CMD_DEVICE_GET_REGION_INFO = 5,
	VFU_CMD_DEVICE_GET_REGION_IO_FDS = 6,
	VFU_CMD_DEVICE_GET_IRQ_INFO = 7,
	VFU_CMD_DEVICE_SET_IRQS = 8,
	VFU_CMD_REGION_READ = 9,
	VFU_CMD_REGION_WRITE = 10,
	VFU_CMD_DMA_READ = 11,          /* server -> client */
	VFU_CMD_DMA_WRITE = 12,         /* server -> client */
	VFU_CMD_DEVICE_RESET = 13,
	VFU_CMD_DIRTY_PAGES = 14,       /* obsolete; never sent by QEMU */
	VFU_CMD_REGION_WRITE_MULTI = 15,
	VFU_CMD_DEVICE_FEATURE = 16,
	VFU_CMD_MIG_DATA_READ = 17,
	VFU_CMD_MIG_DATA_WRITE = 18,
	VFU_CMD_END
};

/* Header flags. */
#define VFU_F_TYPE_MASK 0xfu
#define VFU_F_TYPE_COMMAND 0x0u
#define VFU_F_TYPE_REPLY 0x1u
#define VFU_F_NO_REPLY 0x10u
#define VFU_F_ERROR 0x20u
#define VFU_F_KNOWN (VFU_F_TYPE_MASK | VFU_F_NO_REPLY | VFU_F_ERROR)

struct vfu_hdr {
	uint16_t id;            /* echoed in the reply */
	uint16_t command;
	uint32_t size;          /* whole message, header included */
	uint32_t flags;
	uint32_t error;         /* errno of an error reply; reserved in commands */
} __attribute__((packed));

/* VERSION, both ways; NUL-terminated JSON follows. */
struct vfu_version {
	uint16_t major;
	uint16_t minor;
} __attribute__((packed));

/* DMA_MAP: argsz is the size of this struct; the memory's descriptor, if
 * mappable, comes as SCM_RIGHTS. */
struct vfu_dma_map {
	uint32_t argsz;
	uint32_t flags;         /* VFIO_DMA_MAP_FLAG_READ | _WRITE */
	uint64_t offset;        /* in the descriptor's file */
	uint64_t addr;          /* DMA (guest physical) address */
	uint64_t size;
} __attribute__((packed));

/* DMA_UNMAP: request and reply payload. */
struct vfu_dma_unmap {
	uint32_t argsz;         /* room for the reply */
	uint32_t flags;         /* 0 or VFIO_DMA_UNMAP_FLAG_ALL */
	uint64_t addr;
	uint64_t size;
} __attribute__((packed));

/* DEVICE_GET_INFO: request and reply (struct vfio_device_info's head). */
struct vfu_device_info {
	uint32_t argsz;
	uint32_t flags;         /* VFIO_DEVICE_FLAGS_RESET | _PCI */
	uint32_t num_regions;
	uint32_t num_irqs;
} __attribute__((packed));

/* DEVICE_GET_REGION_INFO: request and reply (struct vfio_region_info);
 * region capabilities may follow in a reply. */
struct vfu_region_info {
	uint32_t argsz;
	uint32_t flags;         /* VFIO_REGION_INFO_FLAG_* */
	uint32_t index;
	uint32_t cap_offset;
	uint64_t size;
	uint64_t offset;        /* for mmap() of a mappable region */
} __attribute__((packed));

/* DEVICE_GET_IRQ_INFO: request and reply (struct vfio_irq_info). */
struct vfu_irq_info {
	uint32_t argsz;
	uint32_t flags;         /* VFIO_IRQ_INFO_* */
	uint32_t index;         /* VFIO_PCI_*_IRQ_INDEX */
	uint32_t count;
} __attribute__((packed));

/* DEVICE_SET_IRQS (struct vfio_irq_set without data): count booleans
 * follow with VFIO_IRQ_SET_DATA_BOOL; eventfds come as SCM_RIGHTS. */
struct vfu_irq_set {
	uint32_t argsz;         /* the request payload's size */
	uint32_t flags;         /* one VFIO_IRQ_SET_DATA_*, one _ACTION_* */
	uint32_t index;
	uint32_t start;
	uint32_t count;
} __attribute__((packed));

/* REGION_READ / REGION_WRITE: count data bytes follow in a write and in a
 * read's reply. */
struct vfu_region_rw {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
} __attribute__((packed));

/* DMA_READ / DMA_WRITE (server -> client): count data bytes follow in a
 * write and in a read's reply. */
struct vfu_dma_rw {
	uint64_t addr;
	uint64_t count;
} __attribute__((packed));

/* REGION_WRITE_MULTI: wr_cnt entries of struct vfu_wr_one follow. */
#define VFU_MULTI_DATA 8
#define VFU_MULTI_MAX 200       /* the most QEMU coalesces */
struct vfu_wr_multi {
	uint64_t wr_cnt;
} __attribute__((packed));

struct vfu_wr_one {
	uint64_t offset;
	uint32_t region;
	uint32_t count;         /* 1..VFU_MULTI_DATA */
	uint8_t data[VFU_MULTI_DATA];
} __attribute__((packed));

static_assert(sizeof(struct vfu_hdr) == 16, "vfio-user header layout");
static_assert(sizeof(struct vfu_version) == 4, "VERSION layout");
static_assert(sizeof(struct vfu_dma_map) == 32, "DMA_MAP layout");
static_assert(sizeof(struct vfu_dma_unmap) == 24, "DMA_UNMAP layout");
static_assert(sizeof(struct vfu_device_info) == 16, "DEVICE_GET_INFO layout");
static_assert(sizeof(struct vfu_region_info) == 32, "GET_REGION_INFO layout");
static_assert(sizeof(struct vfu_irq_info) == 16, "GET_IRQ_INFO layout");
static_assert(sizeof(struct vfu_irq_set) == 20, "SET_IRQS layout");
static_assert(sizeof(struct vfu_region_rw) == 16, "REGION_READ/WRITE layout");
static_assert(sizeof(struct vfu_dma_rw) == 16, "DMA_READ/WRITE layout");
static_assert(sizeof(struct vfu_wr_multi) == 8, "REGION_WRITE_MULTI layout");
static_assert(sizeof(struct vfu_wr_one) == 24, "REGION_WRITE_MULTI entry layout");
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian hosts only");

#endif
