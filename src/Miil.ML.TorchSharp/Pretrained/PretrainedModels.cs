using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.ResNet;
using Miil.ML.TorchSharp.Models.TResNet;

namespace Miil.ML.TorchSharp.Pretrained;

/// <summary>
/// The published TResNet weights, by the names their hosts use: timm's releases on the Hugging Face hub
/// (<c>timm/models/tresnet.py</c>, <c>default_cfgs</c>: ImageNet-1k and ImageNet-21k-P heads, TResNet-V2
/// among them, BatchNorm layout, Apache-2.0), the MIIL group's multi-label checkpoints from the ASL
/// repository (<c>MODEL_ZOO.md</c>: MS-COCO and PASCAL-VOC heads, In-Place-ABN layout converted on load,
/// MIT) and from the ML_Decoder repository (<c>MODEL_ZOO.md</c>: ML-Decoder heads on TResNet-M, TResNet-L
/// (the V2 layout) and ML_Decoder's own XL, MIT); and ResNets: ML.NET's ImageNet ResNet18 from its NuGet
/// package, torchvision's and timm's on the hub.
/// </summary>
public static class PretrainedModels
{
    private const string Timm = "Apache-2.0 (timm model card; weights remapped by timm from the MIIL originals)";
    private const string Asl = "MIT (Alibaba-MIIL/ASL)";
    private const string AslZoo = "https://miil-public-eu.oss-eu-central-1.aliyuncs.com/model-zoo/ASL/";
    private const string MLDecoderLicense = "MIT (Alibaba-MIIL/ML_Decoder)";
    private const string TorchVision = "BSD-3-Clause (torchvision's weights, republished by timm)";
    private const string TimmOwn = "Apache-2.0 (timm model card: timm's own training)";
    private const string MLDecoderZoo = "https://miil-public-eu.oss-eu-central-1.aliyuncs.com/model-zoo/ML_Decoder/";

    /// <summary>ML_Decoder's "TResNet-XL": bottleneck blocks in every stage, layers [3, 8, 34, 5], width 1.0 (no timm counterpart).</summary>
    private static readonly TResNetArchitecture MLDecoderXL = TResNetArchitecture.Custom([3, 8, 34, 5], 1.0, v2: true);

    /// <summary>The model zoo's head: 768 wide; one query per class up to 100 (COCO's 80).</summary>
    private static readonly ClassifierHead ZooHead = ClassifierHead.MLDecoder();
    private static readonly string[] HubFiles = ["model.safetensors", "pytorch_model.bin"];

    /// <summary>MS-COCO's 80 categories in ascending category-id order, the order of ASL's COCO heads.</summary>
    public static IReadOnlyList<string> CocoClassNames { get; } =
    [
        "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
        "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
        "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
        "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
        "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
        "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",
        "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
        "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
    ];

    /// <summary>PASCAL VOC's 20 classes in the dataset's alphabetical order.</summary>
    public static IReadOnlyList<string> VocClassNames { get; } =
    [
        "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ];

    /// <summary>Every entry, supported or not.</summary>
    public static IReadOnlyList<PretrainedModel> All { get; } =
    [
        TimmEntry("tresnet_m.miil_in21k_ft_in1k", "M", TResNetArchitecture.M, 224, 1000, "ImageNet-21k-P, fine-tuned on ImageNet-1k: top-1 83.09%"),
        TimmEntry("tresnet_m.miil_in21k", "M", TResNetArchitecture.M, 224, 11221, "ImageNet-21k-P (fall11, 11,221 classes): the MIIL transfer-learning backbone"),
        TimmEntry("tresnet_m.miil_in1k", "M", TResNetArchitecture.M, 224, 1000, "ImageNet-1k: top-1 80.82%"),
        TimmEntry("tresnet_l.miil_in1k", "L", TResNetArchitecture.L, 224, 1000, "ImageNet-1k: top-1 81.50%"),
        TimmEntry("tresnet_xl.miil_in1k", "XL", TResNetArchitecture.XL, 224, 1000, "ImageNet-1k: top-1 82.06%"),
        TimmEntry("tresnet_m.miil_in1k_448", "M", TResNetArchitecture.M, 448, 1000, "ImageNet-1k at 448 px: top-1 81.71%"),
        TimmEntry("tresnet_l.miil_in1k_448", "L", TResNetArchitecture.L, 448, 1000, "ImageNet-1k at 448 px: top-1 82.28%"),
        TimmEntry("tresnet_xl.miil_in1k_448", "XL", TResNetArchitecture.XL, 448, 1000, "ImageNet-1k at 448 px: top-1 83.07%"),
        TimmEntry("tresnet_v2_l.miil_in21k_ft_in1k", "V2-L", TResNetArchitecture.V2L, 224, 1000, "ImageNet-21k-P, fine-tuned on ImageNet-1k: top-1 83.91%"),
        TimmEntry("tresnet_v2_l.miil_in21k", "V2-L", TResNetArchitecture.V2L, 224, 11221, "ImageNet-21k-P (11,221 classes)"),
        AslEntry("MS_COCO_TRresNet_M_224_81.8", "M", TResNetArchitecture.M, 224, CocoClassNames, "MS-COCO 2014 with ASL (ImageNet-21k pretraining): mAP 81.8"),
        AslEntry("MS_COCO_TRresNet_L_448_86.6", "L", TResNetArchitecture.L, 448, CocoClassNames, "MS-COCO 2014 with ASL: mAP 86.6"),
        AslEntry("MS_COCO_TResNet_xl_640_88.4", "XL", TResNetArchitecture.XL, 640, CocoClassNames, "MS-COCO 2014 with ASL: mAP 88.4"),
        AslEntry("PASCAL_VOC_TResNet_xl_448_96.0", "XL", TResNetArchitecture.XL, 448, VocClassNames, "PASCAL VOC 2007 with ASL: mAP 96.0"),
        MLDecoderEntry("tresnet_m_COCO_224_84_2", "M", TResNetArchitecture.M, 224, CocoClassNames.Count, CocoClassNames, "MS-COCO 2014 with ML-Decoder: mAP 84.2", 0.75f),
        MLDecoderEntry("tresnet_l_COCO__448_90_0", "V2-L", TResNetArchitecture.V2L, 448, CocoClassNames.Count, CocoClassNames, "MS-COCO 2014 with ML-Decoder: mAP 90.1 (90.0 in the file's name)", 0.75f),
        MLDecoderEntry("tresnet_xl_COCO_640_91_4", "ML-Decoder XL", MLDecoderXL, 640, CocoClassNames.Count, CocoClassNames, "MS-COCO 2014 with ML-Decoder: mAP 91.4", 0.75f),
        MLDecoderEntry("tresnet_m_open_images_200_groups_86_8", "M", TResNetArchitecture.M, 224, 9605, null,
            "Open Images V6 (9,605 classes, names in the file) with ML-Decoder, 200 groups: mAP 86.8", 0.97f) with { Head = ClassifierHead.MLDecoder(groups: 200) },
        ResNetEntry("resnet18-mlnet", "ResNet-18 (ML.NET)", ResNetArchitecture.MLNetResNet18,
            "ImageNet-1k, CNTK's ResNet18 recipe (layers [2, 2, 2, 3]); shipped without its classifier: a backbone to fine-tune",
            "MIT (the Microsoft.ML.DnnImageFeaturizer.ResNet18 NuGet package)", PretrainedWeightsSource.NuGetPrefix + MLNetResNet18.Package + "/" + MLNetResNet18.Version),
        ResNetEntry("resnet18.tv_in1k", "ResNet-18", ResNetArchitecture.ResNet18, "ImageNet-1k (torchvision's IMAGENET1K_V1: top-1 69.76%)", TorchVision, "hf-hub:timm/resnet18.tv_in1k"),
        ResNetEntry("resnet50.tv_in1k", "ResNet-50", ResNetArchitecture.ResNet50, "ImageNet-1k (torchvision's IMAGENET1K_V1: top-1 76.13%)", TorchVision, "hf-hub:timm/resnet50.tv_in1k"),
        ResNetEntry("resnet18.a1_in1k", "ResNet-18", ResNetArchitecture.ResNet18, "ImageNet-1k, timm's 'ResNet strikes back' A1 recipe (tested at 288 px)", TimmOwn, "hf-hub:timm/resnet18.a1_in1k"),
        ResNetEntry("resnet50.a1_in1k", "ResNet-50", ResNetArchitecture.ResNet50, "ImageNet-1k, timm's 'ResNet strikes back' A1 recipe (tested at 288 px)", TimmOwn, "hf-hub:timm/resnet50.a1_in1k"),
        MLDecoderEntry("tresnet_l_stanford_card_96.41", "V2-L", TResNetArchitecture.V2L, 384, 196, null, "Stanford Cars (196 classes, single-label) with ML-Decoder: top-1 96.41%", 0.75f)
            with { IsMultiLabel = false },
    ];

    /// <summary>The entry of that name (case-insensitive), or null.</summary>
    /// <param name="name">A catalogue name, e.g. <c>tresnet_m.miil_in21k_ft_in1k</c> or <c>MS_COCO_TRresNet_M_224_81.8</c>.</param>
    public static PretrainedModel? Find(string name)
        => All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    private static PretrainedModel TimmEntry(string name, string variant, TResNetArchitecture? architecture, int size, int classes, string trainedOn) => new()
    {
        Name = name,
        Variant = variant,
        Architecture = architecture,
        ImageSize = size,
        ClassCount = classes,
        TrainedOn = trainedOn,
        License = Timm,
        Source = "hf-hub:timm/" + name,
        Files = HubFiles,
    };

    private static PretrainedModel AslEntry(string name, string variant, TResNetArchitecture architecture, int size, IReadOnlyList<string> classes, string trainedOn) => new()
    {
        Name = name,
        Variant = variant,
        Architecture = architecture,
        ImageSize = size,
        ClassCount = classes.Count,
        ClassNames = classes,
        IsMultiLabel = true,
        TrainedOn = trainedOn,
        License = Asl,
        Source = AslZoo + name + ".pth",
    };

    private static PretrainedModel ResNetEntry(string name, string variant, ResNetArchitecture architecture, string trainedOn, string license, string source) => new()
    {
        Name = name,
        Variant = variant,
        Architecture = architecture,
        ImageSize = 224,
        ClassCount = 1000,
        TrainedOn = trainedOn,
        License = license,
        Source = source,
        Files = source.StartsWith(PretrainedWeightsSource.HubPrefix, StringComparison.Ordinal) ? HubFiles : [],
    };

    private static PretrainedModel MLDecoderEntry(string name, string variant, TResNetArchitecture architecture, int size, int classCount, IReadOnlyList<string>? classes,
        string trainedOn, float threshold) => new()
    {
        Name = name,
        Variant = variant,
        Architecture = architecture,
        Head = ZooHead,
        ImageSize = size,
        ClassCount = classCount,
        ClassNames = classes,
        IsMultiLabel = true,
        Threshold = threshold,
        TrainedOn = trainedOn,
        License = MLDecoderLicense,
        Source = MLDecoderZoo + name + ".pth",
    };
}
