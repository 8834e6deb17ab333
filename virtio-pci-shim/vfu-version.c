// SPDX-License-Identifier: GPL-2.0-or-later
/* VERSION capabilities through json-glib; see vfu-version.h. */
#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "vfu-version.h"

static int fault(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EPROTO;
}

void vfu_caps_defaults(struct vfu_caps *c)
{
	*c = (struct vfu_caps){
		.max_msg_fds = 1,
		.max_data_xfer_size = 1u << 20,
		.max_dma_maps = 65535,
		.pgsizes = 4096,
	};
}

/* Whether brackets nest deeper than the limit, outside strings.  json-glib
 * recurses per level; this bounds it before parsing. */
static bool too_deep(const char *s)
{
	bool in_str = false;
	int depth = 0;

	for (; *s; s++) {
		if (in_str) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				in_str = false;
		} else if (*s == '"') {
			in_str = true;
		} else if (*s == '{' || *s == '[') {
			if (++depth > VFU_MAX_CAPS_DEPTH)
				return true;
		} else if (*s == '}' || *s == ']') {
			depth--;
		}
	}
	return false;
}

/* A member that must be a non-negative integer, if present. */
static int get_uint(JsonObject *o, const char *name, uint64_t *v, const char **why,
		    const char *what)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n)
		return 0;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64 ||
	    json_node_get_int(n) < 0)
		return fault(why, what);
	*v = (uint64_t)json_node_get_int(n);
	return 0;
}

static int get_bool(JsonObject *o, const char *name, bool *v, const char **why, const char *what)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n)
		return 0;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
		return fault(why, what);
	*v = json_node_get_boolean(n);
	return 0;
}

static int parse_caps(JsonObject *caps, struct vfu_caps *c, const char **why)
{
	JsonNode *n;

	if (get_uint(caps, "max_msg_fds", &c->max_msg_fds, why,
		     "capabilities.max_msg_fds is not a non-negative integer") ||
	    get_uint(caps, "max_data_xfer_size", &c->max_data_xfer_size, why,
		     "capabilities.max_data_xfer_size is not a non-negative integer") ||
	    get_uint(caps, "max_dma_maps", &c->max_dma_maps, why,
		     "capabilities.max_dma_maps is not a non-negative integer") ||
	    get_uint(caps, "pgsizes", &c->pgsizes, why,
		     "capabilities.pgsizes is not a non-negative integer") ||
	    get_bool(caps, "write_multiple", &c->write_multiple, why,
		     "capabilities.write_multiple is not a boolean"))
		return -EPROTO;
	if ((n = json_object_get_member(caps, "migration"))) {
		if (!JSON_NODE_HOLDS_OBJECT(n))
			return fault(why, "capabilities.migration is not an object");
		c->migration = true;
	}
	if ((n = json_object_get_member(caps, "twin_socket"))) {
		if (!JSON_NODE_HOLDS_OBJECT(n))
			return fault(why, "capabilities.twin_socket is not an object");
		if (get_bool(json_node_get_object(n), "supported", &c->twin_socket, why,
			     "capabilities.twin_socket.supported is not a boolean"))
			return -EPROTO;
	}
	return 0;
}

int vfu_caps_parse(const char *json, struct vfu_caps *c, const char **why)
{
	JsonParser *p;
	JsonNode *root, *caps;
	int err = 0;

	vfu_caps_defaults(c);
	if (!json)
		return 0;
	if (strlen(json) > VFU_MAX_CAPS_JSON)
		return fault(why, "capabilities JSON longer than 4096 bytes");
	if (too_deep(json))
		return fault(why, "capabilities JSON nested too deeply");
	p = json_parser_new();
	if (!json_parser_load_from_data(p, json, -1, NULL)) {
		err = fault(why, "version data is not valid JSON");
		goto out;
	}
	root = json_parser_get_root(p);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		err = fault(why, "version data is not a JSON object");
		goto out;
	}
	caps = json_object_get_member(json_node_get_object(root), "capabilities");
	if (!caps)
		goto out;
	if (!JSON_NODE_HOLDS_OBJECT(caps)) {
		err = fault(why, "capabilities is not an object");
		goto out;
	}
	err = parse_caps(json_node_get_object(caps), c, why);
out:
	g_object_unref(p);
	if (err)
		vfu_caps_defaults(c);
	return err;
}

static char *reply_json(const struct vfu_caps *ours, const struct vfu_caps *client)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	char *s;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "capabilities");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "max_msg_fds");
	json_builder_add_int_value(b, (gint64)ours->max_msg_fds);
	json_builder_set_member_name(b, "max_data_xfer_size");
	json_builder_add_int_value(b, (gint64)ours->max_data_xfer_size);
	json_builder_set_member_name(b, "max_dma_maps");
	json_builder_add_int_value(b, (gint64)MIN(ours->max_dma_maps, client->max_dma_maps));
	json_builder_set_member_name(b, "pgsizes");
	json_builder_add_int_value(b, (gint64)(ours->pgsizes & client->pgsizes));
	if (ours->write_multiple && client->write_multiple) {
		json_builder_set_member_name(b, "write_multiple");
		json_builder_add_boolean_value(b, TRUE);
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	s = json_generator_to_data(g, NULL);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return s;
}

int vfu_version_reply(const struct vfu_req *req, const struct vfu_caps *ours,
		      struct vfu_caps *client, uint8_t **payload, size_t *len, const char **why)
{
	struct vfu_version v = { VFU_VERSION_MAJOR, VFU_VERSION_MINOR };
	char *json;
	size_t jl;
	int err;

	if (req->u.version.v.major != VFU_VERSION_MAJOR) {
		if (why)
			*why = "unsupported protocol major version";
		return -EPROTONOSUPPORT;
	}
	if ((err = vfu_caps_parse(req->u.version.json, client, why)))
		return err;
	if (!(ours->pgsizes & client->pgsizes))
		return fault(why, "no DMA page size in common");
	v.minor = MIN(req->u.version.v.minor, (uint16_t)VFU_VERSION_MINOR);
	json = reply_json(ours, client);
	jl = strlen(json) + 1;
	*len = sizeof(v) + jl;
	*payload = g_malloc(*len);
	memcpy(*payload, &v, sizeof(v));
	memcpy(*payload + sizeof(v), json, jl);
	g_free(json);
	return 0;
}
