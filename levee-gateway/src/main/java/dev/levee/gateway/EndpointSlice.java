package dev.levee.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The parts of a Kubernetes {@code discovery.k8s.io/v1} EndpointSlice that the gateway uses.
 *
 * @param name the slice's {@code metadata.name}, for error messages
 * @param addressType {@code IPv4}, {@code IPv6} or {@code FQDN}
 * @param endpoints the slice's endpoints, possibly none
 * @param ports the slice's TCP ports that have a number; they apply to every endpoint of the slice
 */
record EndpointSlice(String name, String addressType, List<Endpoint> endpoints, List<Port> ports) {

    /**
     * One endpoint, usually one pod.
     *
     * @param addresses IP addresses of the endpoint, of the slice's address type
     * @param ready {@code conditions.ready}; the API defines an absent value as ready
     * @param terminating {@code conditions.terminating}; the API defines an absent value as not terminating
     */
    record Endpoint(List<String> addresses, boolean ready, boolean terminating) {}

    /**
     * A port of every endpoint in a slice.
     *
     * @param name the port's name, empty for the unnamed port of a service with one port
     * @param number the TCP port number
     */
    record Port(String name, int number) {}

    /** One page of an EndpointSliceList, with the token that requests the next page, empty on the last. */
    record Page(List<EndpointSlice> items, String continueToken) {}

    /** The {@code kind} of the list responses of the EndpointSlice API. */
    static final String LIST_KIND = "EndpointSliceList";

    Optional<Port> port(String portName) {
        return ports.stream().filter(port -> port.name().equals(portName)).findFirst();
    }

    /**
     * Reads one page of an EndpointSliceList. Fields the gateway does not use are ignored, and a JSON
     * {@code null} counts as absent, as the API writes empty lists as {@code null}.
     *
     * @throws IOException when the JSON is not shaped like an EndpointSliceList
     */
    static Page parsePage(JsonNode list) throws IOException {
        JsonNode items = list.path("items");
        if (!list.isObject() || !(items.isArray() || items.isNull())) {
            throw new IOException("the response is not an EndpointSliceList: it has no items array");
        }
        // The API sets the kind of every list it returns. Items of another kind are not endpoints,
        // and reading them as an empty list would remove every node.
        String kind = list.path("kind").asText("");
        if (!kind.equals(LIST_KIND)) {
            throw new IOException("the response is not an EndpointSliceList: its kind is '" + kind + "'");
        }
        List<EndpointSlice> slices = new ArrayList<>();
        for (JsonNode item : items) {
            slices.add(parseSlice(item));
        }
        return new Page(slices, list.path("metadata").path("continue").asText(""));
    }

    private static EndpointSlice parseSlice(JsonNode item) throws IOException {
        if (!item.isObject()) {
            throw new IOException("the EndpointSliceList has an item that is not an object: " + item);
        }
        String name = item.path("metadata").path("name").asText("");
        JsonNode addressType = item.path("addressType");
        if (!addressType.isTextual()) {
            throw new IOException("EndpointSlice '" + name + "' has no addressType");
        }
        List<Endpoint> endpoints = new ArrayList<>();
        for (JsonNode endpoint : objects(item, "endpoints", name)) {
            List<String> addresses = new ArrayList<>();
            for (JsonNode address : array(endpoint, "addresses", name)) {
                if (!address.isTextual()) {
                    throw new IOException(
                            "EndpointSlice '" + name + "' has an address that is not a string: " + address);
                }
                addresses.add(address.asText());
            }
            JsonNode conditions = endpoint.path("conditions");
            endpoints.add(new Endpoint(List.copyOf(addresses), booleanOr(conditions.path("ready"), true),
                    booleanOr(conditions.path("terminating"), false)));
        }
        List<Port> ports = new ArrayList<>();
        for (JsonNode port : objects(item, "ports", name)) {
            // A port without a number is allowed by the API for slices not made from a service; it
            // gives no address to connect to. Only TCP carries HTTP and gRPC.
            JsonNode number = port.path("port");
            if (!port.path("protocol").asText("TCP").equals("TCP") || number.isMissingNode() || number.isNull()) {
                continue;
            }
            if (!number.isIntegralNumber() || !number.canConvertToInt() || number.intValue() < 1
                    || number.intValue() > 65535) {
                throw new IOException("EndpointSlice '" + name + "' has port " + number + " (expected: 1 to 65535)");
            }
            ports.add(new Port(port.path("name").asText(""), number.intValue()));
        }
        return new EndpointSlice(name, addressType.asText(), List.copyOf(endpoints), List.copyOf(ports));
    }

    /**
     * Returns the array in {@code field} of {@code parent}, or an empty one when the field is absent
     * or null. Any other value is an error: skipping it would read a malformed slice as one without
     * endpoints, and the gateway would drop its nodes.
     */
    private static JsonNode array(JsonNode parent, String field, String sliceName) throws IOException {
        JsonNode value = parent.path(field);
        if (value.isMissingNode() || value.isNull()) {
            return MissingNode.getInstance();
        }
        if (!value.isArray()) {
            throw new IOException("EndpointSlice '" + sliceName + "' has " + field + " that are not an array: " + value);
        }
        return value;
    }

    /** Returns {@link #array} of {@code field}, and checks that each element is an object. */
    private static JsonNode objects(JsonNode parent, String field, String sliceName) throws IOException {
        JsonNode elements = array(parent, field, sliceName);
        for (JsonNode element : elements) {
            if (!element.isObject()) {
                throw new IOException("EndpointSlice '" + sliceName + "' has an entry in " + field
                        + " that is not an object: " + element);
            }
        }
        return elements;
    }

    private static boolean booleanOr(JsonNode value, boolean absent) {
        return value.isBoolean() ? value.booleanValue() : absent;
    }
}
