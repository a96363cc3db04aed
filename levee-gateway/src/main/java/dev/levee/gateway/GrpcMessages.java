package dev.levee.gateway;

import dev.levee.core.RequestControls;
import io.vertx.core.buffer.Buffer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The few pieces of gRPC framing and protobuf encoding the gateway needs without the generated
 * messages: reading the model name and version from a request, the {@code timeout} parameter of a
 * ModelInferRequest, and writing the one-field health responses. A gRPC message frame is a
 * compressed flag byte, a 4-byte big-endian length, and the message.
 */
final class GrpcMessages {
    private static final int FRAME_HEADER_BYTES = 5;
    private static final int WIRE_VARINT = 0;
    private static final int WIRE_FIXED64 = 1;
    private static final int WIRE_LENGTH_DELIMITED = 2;
    private static final int WIRE_FIXED32 = 5;
    /** Field number of {@code map<string, InferParameter> parameters} in ModelInferRequest. */
    private static final int INFER_REQUEST_PARAMETERS = 4;

    private GrpcMessages() {}

    /**
     * The fields of a request message that routing needs: the model it names, and the value of
     * the {@code timeout} request parameter. Either is empty when the message lacks it, or when
     * the message is compressed or malformed; the node then judges the request.
     *
     * @param model fields 1 and 2 as a model and version: the {@code model_name} and
     *     {@code model_version} of ModelInferRequest, the {@code name} and {@code version} of
     *     ModelReadyRequest, ModelMetadataRequest, ModelConfigRequest and ModelStatisticsRequest
     * @param timeout the {@code timeout} entry of the {@code parameters} map (field 4) of a
     *     ModelInferRequest, as the Java type of the InferParameter field that is set: Boolean,
     *     Long, String, Double, or BigInteger for uint64. When the map contains the key more than
     *     once, the last entry counts, as protobuf's parsers do.
     */
    record RequestFields(Optional<ModelKey> model, Optional<Object> timeout) {
        static final RequestFields NONE = new RequestFields(Optional.empty(), Optional.empty());
    }

    /**
     * Reads the routing fields of the first message in {@code body} in one pass. The parameters
     * map is read only when {@code inferRequest} is set, as no other request message has field 4.
     */
    static RequestFields read(Buffer body, boolean inferRequest) {
        Reader reader = firstMessage(body);
        if (reader == null) {
            return RequestFields.NONE;
        }
        String model = "";
        String version = "";
        Object timeout = null;
        while (reader.hasMore()) {
            long tag = reader.varint();
            int field = (int) (tag >>> 3);
            int wireType = (int) (tag & 7);
            if (wireType == WIRE_LENGTH_DELIMITED && (field == 1 || field == 2)) {
                String value = reader.string();
                if (field == 1) {
                    model = value;
                } else {
                    version = value;
                }
            } else if (inferRequest && wireType == WIRE_LENGTH_DELIMITED && field == INFER_REQUEST_PARAMETERS) {
                Reader entry = reader.message();
                Object value = timeoutEntry(entry);
                if (entry.malformed) {
                    return RequestFields.NONE;
                }
                if (value != null) {
                    timeout = value;
                }
            } else if (!reader.skip(wireType)) {
                return RequestFields.NONE;
            }
        }
        if (reader.malformed) {
            return RequestFields.NONE;
        }
        Optional<ModelKey> key = model.isEmpty() ? Optional.empty() : Optional.of(new ModelKey(model, version));
        return new RequestFields(key, Optional.ofNullable(timeout));
    }

    /** Reads one map entry (key: field 1, value: field 2); returns its value if the key is {@code timeout}. */
    private static Object timeoutEntry(Reader entry) {
        String key = "";
        Object value = null;
        while (entry.hasMore()) {
            long tag = entry.varint();
            int field = (int) (tag >>> 3);
            int wireType = (int) (tag & 7);
            if (wireType == WIRE_LENGTH_DELIMITED && field == 1) {
                key = entry.string();
            } else if (wireType == WIRE_LENGTH_DELIMITED && field == 2) {
                Reader parameter = entry.message();
                value = parameterValue(parameter);
                entry.malformed |= parameter.malformed;
            } else if (!entry.skip(wireType)) {
                return null;
            }
        }
        return key.equals(RequestControls.TIMEOUT_PARAMETER) ? value : null;
    }

    /** Reads an InferParameter: the value of its one field that is set (the last, if several are). */
    private static Object parameterValue(Reader parameter) {
        Object value = null;
        while (parameter.hasMore()) {
            long tag = parameter.varint();
            int field = (int) (tag >>> 3);
            int wireType = (int) (tag & 7);
            switch (field * 8 + wireType) {
                case 1 * 8 + WIRE_VARINT -> value = parameter.varint() != 0;
                case 2 * 8 + WIRE_VARINT -> value = parameter.varint();
                case 3 * 8 + WIRE_LENGTH_DELIMITED -> value = parameter.string();
                case 4 * 8 + WIRE_FIXED64 -> value = Double.longBitsToDouble(parameter.fixed64());
                case 5 * 8 + WIRE_VARINT -> {
                    long bits = parameter.varint();
                    value = bits >= 0 ? Long.valueOf(bits) : new BigInteger(Long.toUnsignedString(bits));
                }
                default -> {
                    if (!parameter.skip(wireType)) {
                        return null;
                    }
                }
            }
        }
        return value;
    }

    /** Returns whether a whole message frame in {@code body} has the compressed flag set. */
    static boolean anyCompressed(Buffer body) {
        long position = 0;
        while (body.length() - position >= FRAME_HEADER_BYTES) {
            long end = position + FRAME_HEADER_BYTES + body.getUnsignedInt((int) position + 1);
            if (end > body.length()) {
                return false;
            }
            if (body.getByte((int) position) == 1) {
                return true;
            }
            position = end;
        }
        return false;
    }

    /** Returns a reader over the first message of a gRPC body, or null when there is none or it is compressed. */
    private static Reader firstMessage(Buffer body) {
        if (body.length() < FRAME_HEADER_BYTES || body.getByte(0) != 0) {
            return null;
        }
        long length = body.getUnsignedInt(1);
        if (length > body.length() - FRAME_HEADER_BYTES) {
            return null;
        }
        return new Reader(body, FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + (int) length);
    }

    /** Returns one message frame holding a message whose only field, number 1, is the boolean {@code value}. */
    static Buffer booleanMessage(boolean value) {
        Buffer frame = Buffer.buffer(FRAME_HEADER_BYTES + 2).appendByte((byte) 0);
        if (!value) {
            // proto3 leaves a false boolean out, so the message is empty.
            return frame.appendInt(0);
        }
        return frame.appendInt(2).appendByte((byte) 0x08).appendByte((byte) 0x01);
    }

    /** A bounded reader of protobuf's wire format; it marks itself malformed instead of throwing. */
    private static final class Reader {
        private final Buffer buffer;
        private final int end;
        private int position;
        private boolean malformed;

        Reader(Buffer buffer, int start, int end) {
            this.buffer = buffer;
            this.position = start;
            this.end = end;
        }

        boolean hasMore() {
            return !malformed && position < end;
        }

        long varint() {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (position >= end) {
                    malformed = true;
                    return 0;
                }
                byte b = buffer.getByte(position++);
                value |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    return value;
                }
            }
            malformed = true;
            return 0;
        }

        /**
         * Reads the length of a length-delimited field. Returns -1 and marks the reader malformed
         * when the length runs past the end or is negative, which a 10-byte varint can encode. A
         * negative length would move the position back, so the caller's loop would read the same
         * bytes forever.
         */
        private int length() {
            long length = varint();
            if (malformed || length < 0 || length > end - position) {
                malformed = true;
                return -1;
            }
            return (int) length;
        }

        /** Reads a length-delimited field as a nested message and returns a reader over it. */
        Reader message() {
            int length = length();
            if (length < 0) {
                return new Reader(buffer, position, position);
            }
            Reader nested = new Reader(buffer, position, position + length);
            position += length;
            return nested;
        }

        long fixed64() {
            if (end - position < 8) {
                malformed = true;
                return 0;
            }
            long value = buffer.getLongLE(position);
            position += 8;
            return value;
        }

        String string() {
            int length = length();
            if (length < 0) {
                return "";
            }
            String value = buffer.getString(position, position + length, StandardCharsets.UTF_8.name());
            position += length;
            return value;
        }

        /** Skips one field's value; returns false for an unknown wire type or a value past the end. */
        boolean skip(int wireType) {
            long bytes = switch (wireType) {
                case WIRE_VARINT -> {
                    varint();
                    yield 0;
                }
                case WIRE_FIXED64 -> 8;
                case WIRE_LENGTH_DELIMITED -> length();
                case WIRE_FIXED32 -> 4;
                default -> -1;
            };
            if (malformed || bytes < 0 || bytes > end - position) {
                malformed = true;
                return false;
            }
            position += (int) bytes;
            return true;
        }
    }
}
