package io.baton.sdk.worker;

import io.baton.sdk.internal.Json;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Finds {@link WorkerTask} methods on a bean and turns each into a {@link TaskHandler}. */
final class AnnotatedHandlers {
  private AnnotatedHandlers() {}

  /** One discovered handler with the settings from its annotation. */
  record Found(String taskType, TaskHandler handler, TaskOptions options) {}

  static List<Found> scan(Object bean) {
    List<Found> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Class<?> c = bean.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
      for (Method m : c.getDeclaredMethods()) {
        WorkerTask ann = m.getAnnotation(WorkerTask.class);
        if (ann == null || m.isSynthetic() || m.isBridge()) {
          continue;
        }
        String sig = m.getName() + java.util.Arrays.toString(m.getParameterTypes());
        if (!seen.add(sig)) {
          continue; // overridden in a subclass
        }
        if (Modifier.isStatic(m.getModifiers())) {
          throw new IllegalArgumentException("@WorkerTask method must not be static: " + m);
        }
        TaskOptions.Builder ob = TaskOptions.builder().leaseExtension(ann.leaseExtension());
        if (ann.concurrency() > 0) {
          ob.concurrency(ann.concurrency());
        }
        if (!ann.domain().isEmpty()) {
          ob.domain(ann.domain());
        }
        out.add(new Found(ann.value(), handler(bean, m), ob.build()));
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(
          bean.getClass().getName() + " has no method annotated @WorkerTask");
    }
    return out;
  }

  private static TaskHandler handler(Object bean, Method m) {
    if (!m.canAccess(bean)) {
      m.setAccessible(true);
    }
    Parameter[] params = m.getParameters();
    Binder[] binders = new Binder[params.length];
    int wholeInput = 0;
    for (int i = 0; i < params.length; i++) {
      Parameter p = params[i];
      InputParam ip = p.getAnnotation(InputParam.class);
      Class<?> raw = p.getType();
      Type generic = p.getParameterizedType();
      if (raw == Task.class) {
        binders[i] = task -> task;
      } else if (ip != null) {
        String key = ip.value();
        binders[i] = task -> convert(task.input(key), generic, raw, "input '" + key + "'");
      } else {
        if (++wholeInput > 1) {
          throw new IllegalArgumentException(
              "@WorkerTask method "
                  + m
                  + " has more than one parameter taking the whole input; annotate them with"
                  + " @InputParam");
        }
        if (raw == Map.class || raw == Object.class) {
          binders[i] = task -> new LinkedHashMap<>(task.input());
        } else {
          binders[i] = task -> convert(task.input(), generic, raw, "the input");
        }
      }
    }
    return task -> {
      Object[] args = new Object[binders.length];
      for (int i = 0; i < binders.length; i++) {
        args[i] = binders[i].bind(task);
      }
      try {
        return m.invoke(bean, args);
      } catch (InvocationTargetException e) {
        Throwable cause = e.getCause();
        if (cause instanceof Exception ex) {
          throw ex;
        }
        if (cause instanceof Error err) {
          throw err;
        }
        throw e;
      }
    };
  }

  private static Object convert(Object value, Type type, Class<?> raw, String what) {
    if (value == null) {
      return raw.isPrimitive() ? primitiveDefault(raw) : null;
    }
    try {
      return Json.convert(value, type);
    } catch (IllegalArgumentException e) {
      throw new TerminalException(what + " does not fit " + type.getTypeName() + ": " + e.getMessage(), e);
    }
  }

  private static Object primitiveDefault(Class<?> c) {
    if (c == boolean.class) {
      return false;
    }
    if (c == char.class) {
      return '\0';
    }
    if (c == long.class) {
      return 0L;
    }
    if (c == double.class) {
      return 0.0d;
    }
    if (c == float.class) {
      return 0.0f;
    }
    if (c == short.class) {
      return (short) 0;
    }
    if (c == byte.class) {
      return (byte) 0;
    }
    return 0;
  }

  /** Turns a task into one argument. */
  @FunctionalInterface
  private interface Binder {
    Object bind(Task task);
  }

  /**
   * Wraps a typed handler.
   *
   * @param type the input type
   * @param h the handler
   * @return the handler taking the raw task
   */
  static <I> TaskHandler typed(Class<I> type, TypedTaskHandler<I> h) {
    return task -> {
      I input;
      try {
        input = type == Map.class ? type.cast(new LinkedHashMap<>(task.input())) : task.inputAs(type);
      } catch (IllegalArgumentException e) {
        throw new TerminalException(
            "the input does not fit " + type.getName() + ": " + e.getMessage(), e);
      }
      return h.handle(input, task);
    };
  }
}
