package io.baton.sdk.worker;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a method of a bean as the handler of a task type; register the bean with {@link
 * Worker.Builder#bean(Object)}.
 *
 * <p>Parameters are bound as follows: a {@link Task} parameter gets the task; a parameter
 * annotated {@link InputParam} gets that input key converted to the parameter's type; one other
 * parameter gets the whole input converted to its type (a {@code Map} or a bean/record). The return
 * value maps to the result as described in {@link TaskHandler}.
 *
 * <pre>{@code
 * public class Letters {
 *   @WorkerTask("count_letters")
 *   public Map<String, Object> count(@InputParam("text") String text) {
 *     return Map.of("count", text.length());
 *   }
 * }
 * }</pre>
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface WorkerTask {
  /** @return the task type (task definition name) */
  String value();

  /** @return how many tasks of this type run at once; 0 takes the worker's default */
  int concurrency() default 0;

  /** @return the domain to take tasks from; empty takes the worker's default */
  String domain() default "";

  /** @return whether to extend the lease of long-running tasks automatically */
  boolean leaseExtension() default true;
}
