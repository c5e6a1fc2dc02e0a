package io.baton.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.Value;
import io.baton.sdk.internal.Json;
import java.lang.reflect.Array;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Conversions between protobuf {@link Struct}/{@link Value} and plain Java values.
 *
 * <p>Java side: {@code null}, {@link Boolean}, {@link String}, numbers, {@link Map} with string
 * keys and {@link List}. JSON has a single number type; a number read from a Struct becomes a
 * {@link Long} when it is whole and exactly representable, otherwise a {@link Double}. Writing
 * accepts any {@link Number}, enums (by name), arrays, iterables, and other objects through their
 * JSON (bean) form.
 */
public final class Structs {
  private static final double MAX_EXACT = 9007199254740992.0; // 2^53

  private Structs() {}

  /**
   * Converts a Struct into a mutable map, keeping field order.
   *
   * @param struct the struct, may be null
   * @return the map (empty for null)
   */
  public static Map<String, Object> toMap(Struct struct) {
    if (struct == null) {
      return new LinkedHashMap<>();
    }
    Map<String, Object> out = new LinkedHashMap<>(Math.max(4, struct.getFieldsCount() * 2));
    for (Map.Entry<String, Value> e : struct.getFieldsMap().entrySet()) {
      out.put(e.getKey(), toJava(e.getValue()));
    }
    return out;
  }

  /**
   * Converts a protobuf Value into a plain Java value.
   *
   * @param value the value
   * @return null, Boolean, String, Long, Double, Map or List
   */
  public static Object toJava(Value value) {
    if (value == null) {
      return null;
    }
    switch (value.getKindCase()) {
      case BOOL_VALUE:
        return value.getBoolValue();
      case STRING_VALUE:
        return value.getStringValue();
      case NUMBER_VALUE:
        double d = value.getNumberValue();
        if (d == Math.rint(d) && Math.abs(d) <= MAX_EXACT && !(d == 0.0 && 1 / d < 0)) {
          return (long) d;
        }
        return d;
      case STRUCT_VALUE:
        return toMap(value.getStructValue());
      case LIST_VALUE:
        List<Object> list = new ArrayList<>(value.getListValue().getValuesCount());
        for (Value v : value.getListValue().getValuesList()) {
          list.add(toJava(v));
        }
        return list;
      case NULL_VALUE:
      case KIND_NOT_SET:
      default:
        return null;
    }
  }

  /**
   * Converts a map into a Struct.
   *
   * @param map the map, may be null
   * @return the struct (empty for null)
   */
  public static Struct toStruct(Map<String, ?> map) {
    if (map == null || map.isEmpty()) {
      return Struct.getDefaultInstance();
    }
    Struct.Builder b = Struct.newBuilder();
    for (Map.Entry<String, ?> e : map.entrySet()) {
      b.putFields(String.valueOf(e.getKey()), toValue(e.getValue()));
    }
    return b.build();
  }

  /**
   * Converts any object into a Struct: a map directly, other objects through their JSON form.
   *
   * @param object the object, may be null
   * @return the struct
   * @throws IllegalArgumentException when the object is not JSON-object shaped
   */
  public static Struct toStructFromObject(Object object) {
    if (object == null) {
      return Struct.getDefaultInstance();
    }
    Value v = toValue(object);
    if (v.getKindCase() != Value.KindCase.STRUCT_VALUE) {
      throw new IllegalArgumentException(
          "expected an object with fields, got " + object.getClass().getName());
    }
    return v.getStructValue();
  }

  /**
   * Converts a plain Java value (or a bean, through its JSON form) into a protobuf Value.
   *
   * @param o the value
   * @return the protobuf value
   */
  public static Value toValue(Object o) {
    if (o == null) {
      return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
    }
    if (o instanceof Value v) {
      return v;
    }
    if (o instanceof Struct s) {
      return Value.newBuilder().setStructValue(s).build();
    }
    if (o instanceof CharSequence cs) {
      return Value.newBuilder().setStringValue(cs.toString()).build();
    }
    if (o instanceof Boolean b) {
      return Value.newBuilder().setBoolValue(b).build();
    }
    if (o instanceof Number n) {
      return Value.newBuilder().setNumberValue(n.doubleValue()).build();
    }
    if (o instanceof Character c) {
      return Value.newBuilder().setStringValue(c.toString()).build();
    }
    if (o instanceof Enum<?> en) {
      return Value.newBuilder().setStringValue(en.name()).build();
    }
    if (o instanceof Map<?, ?> m) {
      Struct.Builder b = Struct.newBuilder();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        b.putFields(String.valueOf(e.getKey()), toValue(e.getValue()));
      }
      return Value.newBuilder().setStructValue(b).build();
    }
    // Before Iterable: a JsonNode is Iterable over its values, which would lose an object's keys.
    if (o instanceof JsonNode node) {
      return fromTree(node);
    }
    if (o instanceof Iterable<?> it) {
      ListValue.Builder lb = ListValue.newBuilder();
      for (Object x : it) {
        lb.addValues(toValue(x));
      }
      return Value.newBuilder().setListValue(lb).build();
    }
    if (o.getClass().isArray()) {
      ListValue.Builder lb = ListValue.newBuilder();
      int n = Array.getLength(o);
      for (int i = 0; i < n; i++) {
        lb.addValues(toValue(Array.get(o, i)));
      }
      return Value.newBuilder().setListValue(lb).build();
    }
    return fromTree(Json.tree(o));
  }

  private static Value fromTree(JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
    }
    if (node.isBoolean()) {
      return Value.newBuilder().setBoolValue(node.booleanValue()).build();
    }
    if (node.isNumber()) {
      return Value.newBuilder().setNumberValue(node.doubleValue()).build();
    }
    if (node.isTextual() || node.isBinary()) {
      return Value.newBuilder().setStringValue(node.asText()).build();
    }
    if (node.isArray()) {
      ListValue.Builder lb = ListValue.newBuilder();
      for (JsonNode x : node) {
        lb.addValues(fromTree(x));
      }
      return Value.newBuilder().setListValue(lb).build();
    }
    Struct.Builder b = Struct.newBuilder();
    Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> e = fields.next();
      b.putFields(e.getKey(), fromTree(e.getValue()));
    }
    return Value.newBuilder().setStructValue(b).build();
  }

  /**
   * Converts a Timestamp into an Instant.
   *
   * @param ts the timestamp
   * @return the instant, or null when the timestamp is unset (zero)
   */
  public static Instant toInstant(Timestamp ts) {
    if (ts == null || (ts.getSeconds() == 0 && ts.getNanos() == 0)) {
      return null;
    }
    return Instant.ofEpochSecond(ts.getSeconds(), ts.getNanos());
  }

  /**
   * Converts an Instant into a Timestamp.
   *
   * @param instant the instant
   * @return the timestamp
   */
  public static Timestamp toTimestamp(Instant instant) {
    return Timestamp.newBuilder()
        .setSeconds(instant.getEpochSecond())
        .setNanos(instant.getNano())
        .build();
  }
}
