package dev.levee.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.ModelMetadata;
import dev.levee.core.Tensor;
import dev.levee.core.TensorData;
import dev.levee.core.TensorMetadata;
import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Any ONNX model, with input and output metadata taken from its graph. When every input and output
 * has a variable first dimension and batching is configured, requests are concatenated along that
 * dimension and each gets back its own rows.
 */
public final class OnnxModel implements Model {
    private final OrtEnvironment environment;
    private final OrtSession session;
    private final ModelMetadata metadata;
    private final boolean batching;

    private OnnxModel(OrtEnvironment environment, OrtSession session, ModelMetadata metadata, boolean batching) {
        this.environment = environment;
        this.session = session;
        this.metadata = metadata;
        this.batching = batching;
    }

    /** Loads {@code file} into a session; throws with a readable reason if ONNX Runtime rejects it. */
    public static OnnxModel load(String version, Path file, ModelConfig config) throws OrtException {
        OrtEnvironment environment = OnnxSessions.environment();
        try (OrtSession.SessionOptions options = OnnxSessions.options(config)) {
            return describe(environment, environment.createSession(file.toString(), options), version, config);
        }
    }

    /** Loads a serialized ONNX graph held in memory, such as a classpath resource. */
    public static OnnxModel load(String version, byte[] graph, ModelConfig config) throws OrtException {
        OrtEnvironment environment = OnnxSessions.environment();
        try (OrtSession.SessionOptions options = OnnxSessions.options(config)) {
            return describe(environment, environment.createSession(graph, options), version, config);
        }
    }

    private static OnnxModel describe(OrtEnvironment environment, OrtSession session, String version,
            ModelConfig config) throws OrtException {
        try {
            List<TensorMetadata> inputs = describe(session.getInputInfo());
            List<TensorMetadata> outputs = describe(session.getOutputInfo());
            boolean batching = config.maxBatchSize() > 0 && hasBatchDimension(inputs) && hasBatchDimension(outputs);
            ModelMetadata metadata = new ModelMetadata(config.name(), List.of(version), "onnxruntime_onnx",
                    inputs, outputs);
            return new OnnxModel(environment, session, metadata, batching);
        } catch (OrtException | RuntimeException e) {
            session.close();
            throw e;
        }
    }

    private static List<TensorMetadata> describe(Map<String, NodeInfo> nodes) throws OrtException {
        List<TensorMetadata> tensors = new ArrayList<>();
        for (Map.Entry<String, NodeInfo> node : nodes.entrySet()) {
            if (!(node.getValue().getInfo() instanceof TensorInfo info)) {
                throw new OrtException("'" + node.getKey() + "' is not a tensor; only tensor inputs and outputs are served");
            }
            tensors.add(new TensorMetadata(node.getKey(), OnnxTypes.toDataType(info, node.getKey()), info.getShape()));
        }
        return tensors;
    }

    private static boolean hasBatchDimension(List<TensorMetadata> tensors) {
        return tensors.stream().allMatch(t -> t.shape().length > 0 && t.shape()[0] == -1);
    }

    @Override
    public ModelMetadata metadata() {
        return metadata;
    }

    @Override
    public boolean batching() {
        return batching;
    }

    /** Runs zeros (empty strings for BYTES) when every input dimension but the batch one is fixed. */
    @Override
    public boolean warmup(int rows) throws OrtException {
        if (!batching) {
            return false;
        }
        List<Tensor> inputs = new ArrayList<>();
        for (TensorMetadata input : metadata.inputs()) {
            long[] shape = input.shape();
            shape[0] = rows;
            long count = dev.levee.core.Shapes.elementCount(shape);
            if (count < 0 || count > Integer.MAX_VALUE / 8) {
                return false;
            }
            if (input.datatype() == DataType.BYTES) {
                byte[][] empty = new byte[(int) count][];
                java.util.Arrays.fill(empty, new byte[0]);
                inputs.add(Tensor.ofStrings(input.name(), shape, empty));
            } else {
                ByteBuffer zeros = ByteBuffer.allocate((int) count * input.datatype().byteSize());
                inputs.add(new Tensor(input.name(), input.datatype(), shape,
                        new TensorData.FixedWidth(input.datatype(), zeros)));
            }
        }
        run(List.of(new InferenceRequest("warmup", metadata.name(), "", inputs, List.of(), java.util.Map.of(),
                InferenceRequest.NO_DEADLINE)));
        return true;
    }

    @Override
    public List<RowOutcome> run(List<InferenceRequest> batch) throws OrtException {
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            for (TensorMetadata input : metadata.inputs()) {
                feeds.put(input.name(), concatenate(input, batch));
            }
            try (OrtSession.Result result = session.run(feeds)) {
                return split(result, batch);
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor concatenate(TensorMetadata input, List<InferenceRequest> batch) throws OrtException {
        List<Tensor> parts = new ArrayList<>(batch.size());
        for (InferenceRequest request : batch) {
            parts.add(request.input(input.name()).orElseThrow());
        }
        long[] shape = parts.getFirst().shape();
        if (batch.size() > 1) {
            long rows = 0;
            for (Tensor part : parts) {
                rows += part.shape()[0];
            }
            shape[0] = rows;
        }
        if (input.datatype() == DataType.BYTES) {
            List<String> strings = new ArrayList<>();
            for (Tensor part : parts) {
                for (byte[] element : ((TensorData.Strings) part.data()).elements()) {
                    strings.add(new String(element, StandardCharsets.UTF_8));
                }
            }
            return OnnxTensor.createTensor(environment, strings.toArray(String[]::new), shape);
        }
        int bytes = 0;
        for (Tensor part : parts) {
            bytes += ((TensorData.FixedWidth) part.data()).buffer().remaining();
        }
        ByteBuffer joined = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
        for (Tensor part : parts) {
            joined.put(((TensorData.FixedWidth) part.data()).buffer().duplicate());
        }
        joined.flip();
        return OnnxTensor.createTensor(environment, joined, shape, OnnxTypes.toJavaType(input.datatype()));
    }

    private List<RowOutcome> split(OrtSession.Result result, List<InferenceRequest> batch) throws OrtException {
        List<List<Tensor>> perRequest = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            perRequest.add(new ArrayList<>());
        }
        for (Map.Entry<String, OnnxValue> entry : result) {
            if (!(entry.getValue() instanceof OnnxTensor output)) {
                throw new OrtException("output '" + entry.getKey() + "' is not a tensor");
            }
            TensorInfo info = output.getInfo();
            long[] shape = info.getShape();
            DataType type = OnnxTypes.toDataType(info, entry.getKey());
            if (batch.size() == 1) {
                perRequest.getFirst().add(toTensor(entry.getKey(), type, shape, output));
                continue;
            }
            splitRows(entry.getKey(), type, shape, output, batch, perRequest);
        }
        List<RowOutcome> outcomes = new ArrayList<>(batch.size());
        for (List<Tensor> outputs : perRequest) {
            outcomes.add(new RowOutcome.Success(outputs));
        }
        return outcomes;
    }

    private static void splitRows(String name, DataType type, long[] shape, OnnxTensor output,
            List<InferenceRequest> batch, List<List<Tensor>> perRequest) throws OrtException {
        long totalRows = 0;
        for (InferenceRequest request : batch) {
            totalRows += request.rows();
        }
        if (shape.length == 0 || shape[0] != totalRows) {
            throw new OrtException("output '" + name + "' has shape " + java.util.Arrays.toString(shape)
                    + ", whose first dimension is not the batch size " + totalRows);
        }
        long rowElements = 1;
        for (int i = 1; i < shape.length; i++) {
            rowElements *= shape[i];
        }
        if (type == DataType.BYTES) {
            String[] flat = flattenStrings(output.getValue());
            int offset = 0;
            for (int i = 0; i < batch.size(); i++) {
                int rows = batch.get(i).rows();
                int count = (int) (rows * rowElements);
                byte[][] elements = new byte[count][];
                for (int j = 0; j < count; j++) {
                    elements[j] = flat[offset + j].getBytes(StandardCharsets.UTF_8);
                }
                offset += count;
                perRequest.get(i).add(Tensor.ofStrings(name, rowShape(shape, rows), elements));
            }
            return;
        }
        ByteBuffer all = output.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        int rowBytes = (int) (rowElements * type.byteSize());
        int offset = 0;
        for (int i = 0; i < batch.size(); i++) {
            int rows = batch.get(i).rows();
            ByteBuffer slice = all.slice(offset, rows * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
            offset += rows * rowBytes;
            perRequest.get(i).add(new Tensor(name, type, rowShape(shape, rows), new TensorData.FixedWidth(type, slice)));
        }
    }

    private static long[] rowShape(long[] shape, long rows) {
        long[] copy = shape.clone();
        copy[0] = rows;
        return copy;
    }

    private static Tensor toTensor(String name, DataType type, long[] shape, OnnxTensor output) throws OrtException {
        if (type == DataType.BYTES) {
            String[] flat = flattenStrings(output.getValue());
            byte[][] elements = new byte[flat.length][];
            for (int i = 0; i < flat.length; i++) {
                elements[i] = flat[i].getBytes(StandardCharsets.UTF_8);
            }
            return Tensor.ofStrings(name, shape, elements);
        }
        ByteBuffer buffer = output.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        return new Tensor(name, type, shape, new TensorData.FixedWidth(type, buffer));
    }

    /** Flattens the nested {@code String} arrays that ONNX Runtime returns for string tensors. */
    private static String[] flattenStrings(Object value) {
        if (value instanceof String single) {
            return new String[] {single};
        }
        List<String> flat = new ArrayList<>();
        collect(value, flat);
        return flat.toArray(String[]::new);
    }

    private static void collect(Object array, List<String> into) {
        int length = Array.getLength(array);
        for (int i = 0; i < length; i++) {
            Object element = Array.get(array, i);
            if (element instanceof String s) {
                into.add(s);
            } else {
                collect(element, into);
            }
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw InferenceException.internal("closing the ONNX session of model " + metadata.name() + " failed", e);
        }
    }
}
