package dev.entangle.core.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.MalformedJsonException;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.Map;

/**
 * Jackson's tree model (JsonNode) read and written without an ObjectMapper, whose first use costs
 * 40–60 ms (its date formats load the calendar and locale data; its serializers and deserializers
 * are built on first call). Reading goes through Gson's streaming reader rather than Jackson's
 * parser: any Jackson parser initialises java.math.BigDecimal, whose JDK 25 static initialiser
 * squares its way to 5^65536 (30 ms before the JIT has compiled anything). Both are a tenth of a
 * one-matrix {@code entangle profile --tensor}; a safetensors header and a profile need none of it.
 * What {@link #write} prints equals ObjectMapper's {@code writeValueAsString} (compact) and its
 * default pretty printer, and what {@link #read} returns equals its {@code readTree}, node type for
 * node type (JsonTreeTest holds both to ObjectMapper itself).
 */
public final class JsonTree {

    private static final JsonFactory FACTORY = JsonFactory.builder().build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** Gson's advice for a lenient reader, which is not this reader's to take: said plainly instead. */
    private static final String GSON_LENIENT_ADVICE = "Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON";

    private JsonTree() {}

    /**
     * One JSON value, strictly (RFC 8259): a key twice in one object is an error ("Duplicate field
     * ..."), and so are anything after the value, comments, NaN and infinities.
     */
    public static JsonNode read(String json) throws IOException {
        JsonReader r = new JsonReader(new StringReader(json));
        r.setStrictness(Strictness.STRICT);
        try {
            JsonNode root = value(r);
            JsonToken after;
            try {
                after = r.peek();
            } catch (MalformedJsonException e) {
                after = null;   // the strict reader refuses a second value outright
            }
            if (after != JsonToken.END_DOCUMENT) throw new IOException("Trailing token after the JSON value, " + where(r));
            return root;
        } catch (MalformedJsonException e) {
            String m = e.getMessage() == null ? "malformed JSON" : e.getMessage().replace(GSON_LENIENT_ADVICE, "not strict JSON");
            throw new IOException(m.lines().findFirst().orElse(m), e);
        } catch (IllegalStateException | NumberFormatException e) {
            throw new IOException(e.getMessage(), e);   // what the reader says of a token it did not expect
        }
    }

    /** The value at the reader's next token. */
    private static JsonNode value(JsonReader r) throws IOException {
        return switch (r.peek()) {
            case BEGIN_OBJECT -> {
                ObjectNode o = NODES.objectNode();
                r.beginObject();
                while (r.hasNext()) {
                    String name = r.nextName();
                    if (o.has(name)) throw new IOException("Duplicate field '" + name + "', " + where(r));
                    o.set(name, value(r));
                }
                r.endObject();
                yield o;
            }
            case BEGIN_ARRAY -> {
                ArrayNode a = NODES.arrayNode();
                r.beginArray();
                while (r.hasNext()) a.add(value(r));
                r.endArray();
                yield a;
            }
            case STRING -> NODES.textNode(r.nextString());
            case NUMBER -> number(r.nextString());
            case BOOLEAN -> NODES.booleanNode(r.nextBoolean());
            case NULL -> {
                r.nextNull();
                yield NODES.nullNode();
            }
            default -> throw new IOException("Unexpected " + r.peek() + ", " + where(r));
        };
    }

    /** Where the reader stands, as its own messages say it: "at line L column C path P". */
    private static String where(JsonReader r) {
        String s = r.toString();
        int at = s.indexOf(" at line ");
        return at >= 0 ? s.substring(at + 1) : "at " + r.getPath();
    }

    /** A number as Jackson's readTree makes it: the narrowest of int, long and BigInteger for an integer, else a double. */
    private static JsonNode number(String literal) {
        boolean integral = literal.indexOf('.') < 0 && literal.indexOf('e') < 0 && literal.indexOf('E') < 0;
        if (!integral) return NODES.numberNode(Double.parseDouble(literal));
        if (literal.length() <= 18) {   // 18 characters, sign included, always fit a long
            long v = Long.parseLong(literal);
            return v == (int) v ? NODES.numberNode((int) v) : NODES.numberNode(v);
        }
        BigInteger big = new BigInteger(literal);
        if (big.bitLength() < Integer.SIZE) return NODES.numberNode(big.intValue());
        if (big.bitLength() < Long.SIZE) return NODES.numberNode(big.longValue());
        return NODES.numberNode(big);
    }

    /** The tree as JSON text: compact, or indented as ObjectMapper's default pretty printer does. */
    public static String write(JsonNode node, boolean pretty) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            if (pretty) g.setPrettyPrinter(new DefaultPrettyPrinter());
            write(g, node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);   // a StringWriter does not fail
        }
        return out.toString();
    }

    private static void write(JsonGenerator g, JsonNode n) throws IOException {
        switch (n.getNodeType()) {
            case OBJECT -> {
                g.writeStartObject();
                for (Map.Entry<String, JsonNode> e : n.properties()) {
                    g.writeFieldName(e.getKey());
                    write(g, e.getValue());
                }
                g.writeEndObject();
            }
            case ARRAY -> {
                g.writeStartArray();
                for (JsonNode item : n) write(g, item);
                g.writeEndArray();
            }
            case NUMBER -> {
                switch (n.numberType()) {
                    case INT -> g.writeNumber(n.intValue());
                    case LONG -> g.writeNumber(n.longValue());
                    case BIG_INTEGER -> g.writeNumber(n.bigIntegerValue());
                    case FLOAT -> g.writeNumber(n.floatValue());
                    case DOUBLE -> g.writeNumber(n.doubleValue());
                    case BIG_DECIMAL -> g.writeNumber(n.decimalValue());
                }
            }
            case STRING -> g.writeString(n.textValue());
            case BOOLEAN -> g.writeBoolean(n.booleanValue());
            case NULL -> g.writeNull();
            case BINARY -> g.writeBinary(n.binaryValue());
            case POJO, MISSING -> throw new IllegalArgumentException("not a JSON value: a " + n.getNodeType() + " node");
        }
    }
}
