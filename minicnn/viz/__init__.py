"""Look inside a network: the seed notebooks' views, attribution and gradient views.

Every view is one call on any ``Sequential`` model and returns a
``matplotlib.figure.Figure`` (never ``plt.show()``; works headless). Every map
has a colorbar and one colour scale per figure (or per row or column, where
they hold different quantities; ``draw.py`` holds the rules): signed values on
a diverging map centred at 0, others on a sequential one::

    from minicnn import viz
    viz.feature_maps(model, image, "conv1")
    viz.overlay(image, viz.grad_cam(model, image, "conv2"))

=======================  ====================================================
module                   what it holds
=======================  ====================================================
``probe``                forward to / backward from any layer (the engine room)
``views``                feature maps, filters, layer progression, dense bars,
                         class probabilities, image comparison, heatmaps
``results``              training curves, confusion matrix, misclassified gallery
``statistics``           activation table, dead filters, BatchNorm inspector
``attribution``          saliency, SmoothGrad, integrated gradients, Grad-CAM, occlusion
``handcrafted``          hand-designed vs learned filters, ``overlay``
``maximize``             activation maximization, ``maximized_inputs`` (a grid)
``gradients``            gradient maps, weight gradients, ``GradientFlow`` callback
``receptive_field``      theoretical vs effective receptive field
``animation``            convolution (forward and backward) as a GIF, or one frame
=======================  ====================================================
"""

from .draw import ViewFigure, show_once_in_notebooks
from .animation import (ConvolutionFilm, backward_frames, convolution_animation, convolution_frame, crop_on_detail,
                        forward_frames)
from .attribution import (IntegratedGradients, grad_cam, integrated_gradients, occlusion, saliency,
                          smoothgrad)
from .gradients import GradientFlow, gradient_maps, weight_gradients
from .handcrafted import closest_learned, handcrafted_vs_learned, overlay
from .maximize import Maximization, activation_maximization, maximized_inputs
from .receptive_field import ReceptiveField, compute_receptive_field, receptive_field
from .results import confusion_counts, confusion_matrix, misclassified, training_curves
from .statistics import (ActivationTable, activation_statistics, batchnorm_inspector, batchnorm_state,
                         dead_filters, filter_activation_rates)
from .views import (activation_heatmaps, class_probabilities, close, compare_images, dense_activations,
                    feature_maps, filters, layer_progression, spatial_layers)

__all__ = [
    "ActivationTable", "GradientFlow", "IntegratedGradients", "Maximization", "ReceptiveField",
    "activation_heatmaps", "activation_maximization", "activation_statistics", "backward_frames",
    "batchnorm_inspector", "batchnorm_state", "class_probabilities", "close", "closest_learned",
    "compare_images", "compute_receptive_field", "confusion_counts", "confusion_matrix",
    "ConvolutionFilm", "convolution_animation", "convolution_frame", "crop_on_detail", "dead_filters",
    "dense_activations", "feature_maps", "filter_activation_rates",
    "filters", "forward_frames", "grad_cam", "gradient_maps", "handcrafted_vs_learned",
    "integrated_gradients", "layer_progression", "maximized_inputs", "misclassified", "occlusion", "overlay",
    "receptive_field", "saliency", "smoothgrad", "spatial_layers", "training_curves", "weight_gradients",
    "ViewFigure", "show_once_in_notebooks",
]

show_once_in_notebooks()
